import { describe, expect, it } from 'vitest';
import { formatProblems, loadConfig } from '../../../src/config/config.js';
import { exampleEnv } from '../../support/service-env.js';

function problemsOf(env: Record<string, string | undefined>): string[] {
  const result = loadConfig(env);
  if (result.ok) throw new Error('expected the configuration to be refused');
  return result.problems.map((p) => `${p.key}: ${p.message}`);
}

describe('configuration', () => {
  it('accepts .env.example as a complete configuration and freezes it', () => {
    const result = loadConfig(exampleEnv());
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.database.poolSize).toBe(20);
    expect(result.config.sms?.region).toBe('ie1');
    expect(result.config.channels).toEqual(['email', 'sms', 'push']);
    expect(result.config.policy.frequencyCap).toEqual({ max: 2, windowHours: 168 });
    expect(result.config.policy.quietHours).toEqual({ startMinute: 21 * 60, endMinute: 9 * 60 });
    expect(Object.isFrozen(result.config)).toBe(true);
    expect(Object.isFrozen(result.config.controller)).toBe(true);
  });

  it('names every bad key at once, one problem per key', () => {
    const problems = problemsOf({
      ...exampleEnv(),
      DATABASE_URL: undefined,
      REDIS_URL: 'http://127.0.0.1:6379',
      RATE_LIMIT_SMS_PER_SECOND: 'ten',
      TWILIO_REGION: 'us1',
    });
    expect(problems).toEqual([
      expect.stringMatching(/^DATABASE_URL: missing/),
      expect.stringMatching(/^REDIS_URL: has protocol "http:"/),
      expect.stringMatching(/^TWILIO_REGION: "us1" is outside the EU/),
      expect.stringMatching(/^RATE_LIMIT_SMS_PER_SECOND: "ten" is not a whole number/),
    ]);
  });

  it('refuses a malformed DATABASE_URL and an out-of-range number', () => {
    const problems = problemsOf({ ...exampleEnv(), DATABASE_URL: 'not a url', DATABASE_POOL_SIZE: '0' });
    expect(problems).toEqual([
      expect.stringMatching(/^DATABASE_URL: not a valid URL/),
      expect.stringMatching(/^DATABASE_POOL_SIZE: 0 is out of range/),
    ]);
  });

  it('keeps Twilio traffic in the EU (N10): US region and non-EU edge are refused', () => {
    const problems = problemsOf({ ...exampleEnv(), TWILIO_REGION: 'au1', TWILIO_EDGE: 'ashburn' });
    expect(problems).toEqual([
      expect.stringMatching(/^TWILIO_REGION: "au1" is outside the EU/),
      expect.stringMatching(/^TWILIO_EDGE: "ashburn" is outside the EU/),
    ]);
    expect(loadConfig({ ...exampleEnv(), TWILIO_EDGE: 'frankfurt' }).ok).toBe(true);
  });

  it('never echoes a secret back, even a too-short one', () => {
    const problems = problemsOf({ ...exampleEnv(), SIGNING_SECRET: 'hunter2' });
    expect(problems).toEqual([expect.stringMatching(/^SIGNING_SECRET: is too short \(7 characters\)/)]);
    expect(problems.join('\n')).not.toContain('hunter2');
  });

  it('keeps every retired signing key so that old links still verify, and refuses a key id given twice', () => {
    const a = 'retired-signing-secret-a-0123456789abcdef';
    const b = 'retired-signing-secret-b-0123456789abcdef';
    const result = loadConfig({
      ...exampleEnv(),
      SIGNING_KEY_ID: 'k3',
      SIGNING_SECRETS_PREVIOUS: `k2=${a}, k1=${b}`,
    });
    expect(result.ok && result.config.signing.previous).toEqual([
      { id: 'k2', secret: a },
      { id: 'k1', secret: b },
    ]);
    const problems = problemsOf({
      ...exampleEnv(),
      SIGNING_KEY_ID: 'k3',
      SIGNING_SECRETS_PREVIOUS: `k2=${a},k2=${b}`,
    });
    expect(problems).toEqual([
      expect.stringMatching(/^SIGNING_SECRETS_PREVIOUS: entry 2 repeats the key id "k2"/),
    ]);
    expect(problems.join('\n')).not.toContain(b);
  });

  it('requires a sender or messaging service, credentials or a sandbox for FCM, and complete DKIM', () => {
    const problems = problemsOf({
      ...exampleEnv(),
      TWILIO_FROM: '',
      FCM_API_BASE_URL: '',
      GOOGLE_APPLICATION_CREDENTIALS: '',
      DKIM_DOMAIN: 'klix.app',
    });
    expect(problems.map((p) => p.split(':')[0])).toEqual([
      'DKIM_SELECTOR',
      'DKIM_PRIVATE_KEY_FILE',
      'TWILIO_FROM',
      'GOOGLE_APPLICATION_CREDENTIALS',
    ]);
  });

  it('refuses a default frequency cap looser than the ceiling, and malformed windows', () => {
    expect(problemsOf({ ...exampleEnv(), FREQUENCY_CAP_DEFAULT: '10/1d' })).toEqual([
      expect.stringMatching(/^FREQUENCY_CAP_DEFAULT: 10\/1d allows more than the ceiling/),
    ]);
    expect(problemsOf({ ...exampleEnv(), QUIET_HOURS_DEFAULT: '9pm-9am' })).toEqual([
      expect.stringMatching(/^QUIET_HOURS_DEFAULT: "9pm-9am" is not HH:MM-HH:MM/),
    ]);
  });

  it("neither needs nor reads DATABASE_OWNER_URL: it is the migrations' alone", () => {
    for (const owner of [undefined, 'not a url', 'mysql://owner@db/x']) {
      const result = loadConfig({ ...exampleEnv(), DATABASE_OWNER_URL: owner });
      expect(result.ok, String(owner)).toBe(true);
      if (result.ok) expect(Object.keys(result.config.database).sort()).toEqual(['poolSize', 'url']);
    }
  });

  it('formats problems as one line each, naming the key', () => {
    expect(formatProblems([{ key: 'REDIS_URL', message: 'missing' }])).toBe(
      'config error: REDIS_URL: missing',
    );
  });
});
