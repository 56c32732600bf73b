import { describe, expect, it } from 'vitest';
import { runConsentcast } from '../../support/cli.js';
import { exampleEnv, exampleFile } from '../../support/service-env.js';

describe('a process with bad configuration', () => {
  it('prints one clear line per problem, naming the key, and exits 2 without a stack trace', async () => {
    const env = {
      ...exampleEnv(),
      DATABASE_URL: undefined,
      REDIS_URL: 'localhost:6379',
      RATE_LIMIT_EMAIL_PER_SECOND: 'fast',
      TWILIO_REGION: 'us1',
    };
    const result = await runConsentcast(['ready'], env);
    expect(result.code).toBe(2);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toEqual([
      expect.stringMatching(
        /^config error: DATABASE_URL: missing; expected a postgres:\/\/ or postgresql:\/\/ URL$/,
      ),
      expect.stringMatching(/^config error: REDIS_URL: /),
      expect.stringMatching(/^config error: RATE_LIMIT_EMAIL_PER_SECOND: "fast" is not a whole number/),
      expect.stringMatching(/^config error: TWILIO_REGION: "us1" is outside the EU.*\(N10\)/),
    ]);
    expect(result.stderr).not.toMatch(/\bat .*\.ts:\d+/);
    expect(result.stdout).toBe('');
  });

  it('refuses to start the SMS worker with a rate above the sender throughput, naming the key', async () => {
    const result = await runConsentcast(['sms'], {
      ...exampleEnv(),
      TWILIO_SENDER_MPS: '1',
      RATE_LIMIT_SMS_PER_SECOND: '10',
    });
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^config error: RATE_LIMIT_SMS_PER_SECOND: 10 is above the sender's throughput, TWILIO_SENDER_MPS=1: /,
      ),
    ]);
    expect(result.stdout).toBe('');
  });

  it('is refused for migrations too when DATABASE_URL is malformed', async () => {
    const result = await runConsentcast(['migrate', 'status'], { DATABASE_URL: 'mysql://x@y/z' });
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe(
      'config error: DATABASE_URL: has protocol "mysql:"; expected a postgres:// or postgresql:// URL',
    );
  });

  it('unknown commands are a usage error', async () => {
    const result = await runConsentcast(['frobnicate'], {});
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/unknown command "frobnicate"/);
  });

  it('a bad option is one line and exit 2, and --help answers without any configuration (the real entry point)', async () => {
    const bad = await runConsentcast(['campaign', 'status', '1', '--bogus'], {});
    expect(bad).toEqual({
      code: 2,
      stdout: '',
      stderr: 'consentcast campaign: unknown option --bogus (consentcast campaign --help shows the usage)\n',
    });
    const help = await runConsentcast(['consent', 'withdraw', 'X', '--help'], {});
    expect(help.code, help.stderr).toBe(0);
    expect(help.stderr).toBe('');
    expect(help.stdout).toMatch(/^usage: consentcast consent withdraw CLIENT_NUMBER --reason CODE/);
  });

  it('refuses to start the worker of a channel that CHANNELS leaves out, naming the key', async () => {
    const result = await runConsentcast(['sms'], { ...exampleEnv(), CHANNELS: 'email,push' });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'config error: CHANNELS: sms is not enabled (CHANNELS=email,push): the sms role has nothing to send\n',
    );
  });

  it('refuses the secrets of .env.example at start, one line per key', async () => {
    const result = await runConsentcast(['ready'], exampleFile());
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^config error: SIGNING_SECRET: is a placeholder/),
      expect.stringMatching(/^config error: PSEUDONYM_SECRET: is a placeholder/),
    ]);
  });
});
