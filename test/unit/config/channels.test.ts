import { describe, expect, it } from 'vitest';
import { withSendableChannels } from '../../../src/campaigns/campaign.js';
import { loadConfig } from '../../../src/config/config.js';
import { exampleEnv } from '../../support/service-env.js';

function problemsOf(env: Record<string, string | undefined>): string[] {
  const result = loadConfig(env);
  if (result.ok) throw new Error('expected the configuration to be refused');
  return result.problems.map((p) => `${p.key}: ${p.message}`);
}

/** Every key of one channel's provider, blanked: what an installation without that channel leaves out. */
const NO_SMS = {
  TWILIO_ACCOUNT_SID: undefined,
  TWILIO_AUTH_TOKEN: undefined,
  TWILIO_FROM: undefined,
  TWILIO_REGION: 'us1',
  TWILIO_SENDER_MPS: '1',
  RATE_LIMIT_SMS_PER_SECOND: '10',
};
const NO_PUSH = { FCM_PROJECT_ID: undefined, FCM_API_BASE_URL: undefined };
const NO_EMAIL = { SMTP_URL: undefined, MAIL_FROM: undefined, DKIM_DOMAIN: 'klix.app' };

describe('CHANNELS: the channels an installation sends on', () => {
  it('is all three when unset or empty', () => {
    for (const value of [undefined, '', ' ']) {
      const result = loadConfig({ ...exampleEnv(), CHANNELS: value });
      expect(result.ok && result.config.channels).toEqual(['email', 'sms', 'push']);
    }
  });

  it('reads and requires only the settings of an enabled channel', () => {
    const result = loadConfig({ ...exampleEnv(), ...NO_SMS, ...NO_PUSH, CHANNELS: 'email' });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.channels).toEqual(['email']);
    expect(result.config.sms).toBeUndefined();
    expect(result.config.push).toBeUndefined();
    expect(result.config.email?.smtpUrl).toMatch(/^smtp:/);

    const noEmail = loadConfig({ ...exampleEnv(), ...NO_EMAIL, CHANNELS: ' SMS, push,sms ' });
    expect(noEmail.ok && noEmail.config.channels).toEqual(['sms', 'push']);
    expect(noEmail.ok && noEmail.config.email).toBeUndefined();
  });

  it('names every missing key of an enabled channel', () => {
    expect(problemsOf({ ...exampleEnv(), ...NO_PUSH, CHANNELS: 'email,push' })).toEqual([
      expect.stringMatching(/^FCM_PROJECT_ID: missing/),
      expect.stringMatching(/^GOOGLE_APPLICATION_CREDENTIALS: missing/),
    ]);
  });

  it('refuses an unknown channel and a list that names none', () => {
    expect(problemsOf({ ...exampleEnv(), CHANNELS: 'email,fax' })).toEqual([
      'CHANNELS: unknown "fax"; expected a list of email, sms, push',
    ]);
    expect(problemsOf({ ...exampleEnv(), CHANNELS: ',' })).toEqual([
      'CHANNELS: names no channel; expected a list of email, sms, push',
    ]);
  });

  it('leaves a disabled channel out of a campaign, keeping the order of the others', () => {
    const campaign = { id: 1, channels: ['push', 'sms', 'email'] as const };
    expect(withSendableChannels(campaign, ['email', 'push']).channels).toEqual(['push', 'email']);
    expect(withSendableChannels(campaign, ['email', 'push'])).toMatchObject({ id: 1 });
  });
});

describe('the Twilio auth token', () => {
  it('is required with SMS, and is 32 hex digits; a wrong one is never echoed', () => {
    expect(problemsOf({ ...exampleEnv(), TWILIO_AUTH_TOKEN: undefined })).toEqual([
      expect.stringMatching(/^TWILIO_AUTH_TOKEN: missing; expected the Twilio auth token \(32 hex digits\)/),
    ]);
    for (const token of ['dev-only-twilio-auth-token', `${'a'.repeat(31)}g`, 'f'.repeat(33)]) {
      const problems = problemsOf({ ...exampleEnv(), TWILIO_AUTH_TOKEN: token });
      expect(problems).toEqual(['TWILIO_AUTH_TOKEN: is not a Twilio auth token; expected 32 hex digits']);
    }
    expect(loadConfig({ ...exampleEnv(), TWILIO_AUTH_TOKEN: '9f86d081884c7d659a2feaa0c55ad015' }).ok).toBe(
      true,
    );
  });

  it('is neither required nor checked without SMS', () => {
    for (const token of [undefined, 'dev-only-twilio-auth-token']) {
      expect(loadConfig({ ...exampleEnv(), TWILIO_AUTH_TOKEN: token, CHANNELS: 'email,push' }).ok).toBe(true);
    }
  });
});
