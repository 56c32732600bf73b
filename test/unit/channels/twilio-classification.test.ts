import { describe, expect, it } from 'vitest';
import { classifyTwilioFailure } from '../../../src/channels/sms/classify.js';

describe('Twilio failure classification', () => {
  it('retries 429 and 503, keeping the Retry-After', () => {
    expect(classifyTwilioFailure({ status: 429, code: 20429, message: 'Too Many Requests' }, 5_000)).toEqual({
      kind: 'retry',
      code: '20429',
      detail: 'twilio 429: Too Many Requests',
      retryAfterMs: 5_000,
    });
    expect(classifyTwilioFailure({ status: 503, message: 'Service Unavailable' }).kind).toBe('retry');
  });

  it('calls invalid and unsubscribed numbers invalid_number', () => {
    for (const code of [21211, 21214, 21610, 21614]) {
      expect(classifyTwilioFailure({ status: 400, code, message: 'x' })).toMatchObject({
        kind: 'permanent',
        reason: 'invalid_number',
      });
    }
  });

  it('calls other 4xx rejected', () => {
    expect(classifyTwilioFailure({ status: 401, code: 20003, message: 'Authenticate' })).toMatchObject({
      reason: 'rejected',
    });
    expect(classifyTwilioFailure({ status: 400, code: 21408, message: 'region' })).toMatchObject({
      reason: 'rejected',
    });
  });

  it('calls ambiguous 5xx unknown', () => {
    for (const status of [500, 502, 504]) {
      expect(classifyTwilioFailure({ status, message: 'x' }).kind).toBe('unknown');
    }
  });

  it('retries a transport error only when the request was not written in full', () => {
    expect(classifyTwilioFailure({ code: 'ECONNREFUSED', message: 'x', written: false }).kind).toBe('retry');
    expect(classifyTwilioFailure({ code: 'ECONNRESET', message: 'x', written: true }).kind).toBe('unknown');
  });

  it('calls an error nobody can place unknown', () => {
    expect(classifyTwilioFailure({ message: 'Unexpected token < in JSON' }).kind).toBe('unknown');
  });

  it('scrubs the number Twilio echoes', () => {
    const result = classifyTwilioFailure({
      status: 400,
      code: 21211,
      message: "The 'To' number +371 2000 0000 is not a valid phone number.",
    });
    expect(JSON.stringify(result)).not.toMatch(/2000/);
  });
});
