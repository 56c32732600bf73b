import { describe, expect, it } from 'vitest';
import { formatProblems, loadConfig } from '../../../src/config/config.js';
import { exampleEnv } from '../../support/service-env.js';

function smsOf(env: Record<string, string | undefined>) {
  const result = loadConfig({ ...exampleEnv(), ...env });
  if (!result.ok) throw new Error(formatProblems(result.problems));
  return result.config.sms;
}

function problemsOf(env: Record<string, string | undefined>): string[] {
  const result = loadConfig({ ...exampleEnv(), ...env });
  if (result.ok) throw new Error('expected the configuration to be refused');
  return result.problems.map((p) => `${p.key}: ${p.message}`);
}

describe('the SMS rate and the sender throughput (N13: the hand-off to Twilio is a real hand-off)', () => {
  it('accepts a rate at or below the sender throughput', () => {
    expect(smsOf({ TWILIO_SENDER_MPS: '100', RATE_LIMIT_SMS_PER_SECOND: '100' })).toMatchObject({
      senderMps: 100,
      ratePerSecond: 100,
    });
    expect(smsOf({ TWILIO_SENDER_MPS: '100', RATE_LIMIT_SMS_PER_SECOND: '30' })).toMatchObject({
      senderMps: 100,
      ratePerSecond: 30,
    });
  });

  it('refuses at start a rate above the sender throughput, naming the rate key and the throughput', () => {
    const problems = problemsOf({ TWILIO_SENDER_MPS: '1', RATE_LIMIT_SMS_PER_SECOND: '10' });
    expect(problems).toEqual([
      expect.stringMatching(
        /^RATE_LIMIT_SMS_PER_SECOND: 10 is above the sender's throughput, TWILIO_SENDER_MPS=1:/,
      ),
    ]);
    expect(problems[0]).toMatch(/10 hours/);
  });

  it('takes one long code (1 segment/s) as the sender when none is configured, and says so when refusing', () => {
    expect(problemsOf({ TWILIO_SENDER_MPS: undefined, RATE_LIMIT_SMS_PER_SECOND: '10' })).toEqual([
      expect.stringMatching(/TWILIO_SENDER_MPS=1 \(the default: one long code\)/),
    ]);
  });

  it('sends at the sender throughput when no rate is configured', () => {
    expect(smsOf({ TWILIO_SENDER_MPS: '100', RATE_LIMIT_SMS_PER_SECOND: undefined })).toMatchObject({
      senderMps: 100,
      ratePerSecond: 100,
    });
    expect(smsOf({ TWILIO_SENDER_MPS: undefined, RATE_LIMIT_SMS_PER_SECOND: undefined })).toMatchObject({
      senderMps: 1,
      ratePerSecond: 1,
    });
  });

  it('names a malformed throughput once, without a second problem about the rate', () => {
    expect(problemsOf({ TWILIO_SENDER_MPS: 'fast', RATE_LIMIT_SMS_PER_SECOND: '10' })).toEqual([
      expect.stringMatching(/^TWILIO_SENDER_MPS: "fast" is not a whole number/),
    ]);
    expect(problemsOf({ TWILIO_SENDER_MPS: '0' })).toEqual([
      expect.stringMatching(/^TWILIO_SENDER_MPS: 0 is out of range; expected 1\.\.10000/),
    ]);
  });
});
