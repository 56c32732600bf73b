import { generate } from 'otplib';
import { describe, expect, it } from 'vitest';
import {
  checkTotp,
  newTotpSecret,
  openTotpSecret,
  sealTotpSecret,
  totpKeyOf,
} from '../../../src/staff/totp.js';

const KEY = totpKeyOf('a-pseudonym-secret-for-this-test-only-0123456789');

describe('TOTP secrets and codes', () => {
  it('when a secret is sealed, then only the same key opens it, and an altered value opens to nothing', () => {
    const secret = newTotpSecret();
    const sealed = sealTotpSecret(secret, KEY);
    expect(sealed).toMatch(/^v1\./);
    expect(sealed).not.toContain(secret);
    expect(openTotpSecret(sealed, KEY)).toBe(secret);
    expect(openTotpSecret(sealed, totpKeyOf('another-pseudonym-secret-0123456789abcdef'))).toBeUndefined();
    expect(openTotpSecret(`${sealed.slice(0, -2)}AA`, KEY)).toBeUndefined();
    expect(openTotpSecret(secret, KEY)).toBeUndefined();
  });

  it('when a code is checked, then it is accepted once per time step and only six digits', async () => {
    const secret = newTotpSecret();
    const now = new Date();
    const code = await generate({ secret, epoch: Math.floor(now.getTime() / 1000) });
    const step = await checkTotp(secret, code, null, now);
    expect(step).toBeTypeOf('number');
    expect(await checkTotp(secret, code, step ?? null, now)).toBeUndefined();
    expect(await checkTotp(secret, `${code}0`, null, now)).toBeUndefined();
    expect(await checkTotp(secret, 'abcdef', null, now)).toBeUndefined();
  });
});
