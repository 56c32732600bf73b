import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/config.js';
import { estimatedBits, secretWeakness } from '../../../src/config/secrets.js';
import { exampleEnv, exampleFile } from '../../support/service-env.js';

function problemsOf(env: Record<string, string | undefined>): string[] {
  const result = loadConfig(env);
  if (result.ok) throw new Error('expected the configuration to be refused');
  return result.problems.map((p) => `${p.key}: ${p.message}`);
}

const SECRET_KEYS = ['SIGNING_SECRET', 'PSEUDONYM_SECRET'] as const;
const GOOD = 'Zq3vN8xK1pT6wR4yB7mC2dF9gH5jL0sA';

describe('secrets that cannot stay at their examples', () => {
  it('refuses each secret of .env.example, naming the key and never echoing the value', () => {
    const file = exampleFile();
    for (const key of SECRET_KEYS) {
      const example = file[key];
      expect(example, key).toBeDefined();
      const problems = problemsOf({ ...exampleEnv(), [key]: example });
      expect(problems).toEqual([expect.stringMatching(new RegExp(`^${key}: is a placeholder`))]);
      expect(problems.join('\n')).not.toContain(example);
    }
    // .env.example as it is: both refused, one line each, and nothing else
    expect(problemsOf(file).map((p) => p.split(':')[0])).toEqual([...SECRET_KEYS]);
  });

  it('refuses an example secret among the retired signing keys, naming the entry', () => {
    const example = exampleFile().SIGNING_SECRET ?? '';
    const problems = problemsOf({
      ...exampleEnv(),
      SIGNING_KEY_ID: 'k2',
      SIGNING_SECRETS_PREVIOUS: `k0=${GOOD},k1=${example}`,
    });
    expect(problems).toEqual([
      expect.stringMatching(
        /^SIGNING_SECRETS_PREVIOUS: entry 2 \(key id "k1"\): the secret is a placeholder/,
      ),
    ]);
    expect(problems.join('\n')).not.toContain(example);
  });

  it('refuses low-entropy secrets of 32 characters or more, for every secret key, one line each', () => {
    const weak: readonly [string, RegExp][] = [
      ['a'.repeat(40), /is a pattern/],
      ['abcd'.repeat(10), /is a pattern/],
      ['abcdefghijklmnopqrstuvwxyzABCDEF', /is a pattern/],
      ['01234567890123456789012345678901234567890', /is a pattern/],
      ['Password1Password1Password1Password1', /is a pattern/],
      [`${'a'.repeat(30)}bcdefgh`, /different characters|pattern/],
      [`${'ab'.repeat(15)}ba${'ab'.repeat(3)}`, /has only 2 different characters; expected at least 8/],
      ['31415926535897932384626433832795', /is too guessable: 32 characters from an alphabet of 10/],
      ['my-secret-CHANGEME-please-0123456789', /is a placeholder/],
    ];
    for (const key of SECRET_KEYS) {
      for (const [value, reason] of weak) {
        const problems = problemsOf({ ...exampleEnv(), [key]: value });
        expect(problems, `${key}=${value}`).toEqual([expect.stringMatching(new RegExp(`^${key}: `))]);
        expect(problems[0], value).toMatch(reason);
        expect(problems.join('\n')).not.toContain(value);
      }
    }
  });

  it('accepts what openssl rand makes, and 32 hex digits (128 bits)', () => {
    for (let i = 0; i < 200; i++) {
      for (const value of [
        randomBytes(32).toString('base64'),
        randomBytes(32).toString('base64url'),
        randomBytes(32).toString('hex'),
        randomBytes(16).toString('hex'),
      ]) {
        expect(secretWeakness(value), value).toBeUndefined();
      }
    }
    expect(estimatedBits('0123456789abcdef'.repeat(2))).toBe(128);
    expect(secretWeakness('3141592653589793238462643383279502884')).toMatch(/too guessable/);
    expect(secretWeakness('314159265358979323846264338327950288419')).toBeUndefined();
  });

  it('refuses one secret used for both signing and pseudonyms', () => {
    expect(problemsOf({ ...exampleEnv(), SIGNING_SECRET: GOOD, PSEUDONYM_SECRET: GOOD })).toEqual([
      expect.stringMatching(/^PSEUDONYM_SECRET: is the same as SIGNING_SECRET/),
    ]);
  });

  it('says how to make a secret when one is missing', () => {
    expect(problemsOf({ ...exampleEnv(), PSEUDONYM_SECRET: '' })).toEqual([
      expect.stringMatching(/^PSEUDONYM_SECRET: missing; expected a random secret .*openssl rand/),
    ]);
  });
});
