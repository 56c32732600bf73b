import { describe, expect, it } from 'vitest';
import { cachedAccessToken } from '../../../src/channels/push/access-token.js';

/** A credential that hands out `t1`, `t2`, … valid for `expiresIn` seconds, or fails when told. */
function countingCredential(expiresIn = 3600) {
  const state = { calls: 0, fail: false };
  return {
    state,
    credential: {
      async getAccessToken() {
        state.calls += 1;
        if (state.fail)
          throw Object.assign(new Error('token exchange failed'), { code: 'app/invalid-credential' });
        return { access_token: `t${state.calls}`, expires_in: expiresIn };
      },
    },
  };
}

describe('the FCM access token', () => {
  it('is fetched once and shared by concurrent sends', async () => {
    const { state, credential } = countingCredential();
    const token = cachedAccessToken(credential);

    expect(await Promise.all([token(), token(), token()])).toEqual(['t1', 't1', 't1']);
    expect(await token()).toBe('t1');
    expect(state.calls).toBe(1);
  });

  it('is renewed five minutes before it expires', async () => {
    const { state, credential } = countingCredential(3600);
    let now = 0;
    const token = cachedAccessToken(credential, () => now);

    expect(await token()).toBe('t1');
    now = (3600 - 301) * 1000;
    expect(await token()).toBe('t1');
    now = (3600 - 299) * 1000;
    expect(await token()).toBe('t2');
    expect(state.calls).toBe(2);
  });

  it('is not kept when the exchange failed: the next send tries again', async () => {
    const { state, credential } = countingCredential();
    const token = cachedAccessToken(credential);

    state.fail = true;
    await expect(token()).rejects.toMatchObject({ code: 'app/invalid-credential' });
    state.fail = false;
    expect(await token()).toBe('t2');
  });
});
