import { describe, expect, it } from 'vitest';
import { classifyFcmFailure } from '../../../src/channels/push/classify.js';

const answered = (status: number, retryAfterMs?: number) => ({
  requestMade: true,
  written: true,
  status,
  ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
});

describe('FCM failure classification', () => {
  it('retries 429 and 503 with their Retry-After', () => {
    expect(
      classifyFcmFailure({ code: 'messaging/message-rate-exceeded', message: 'q' }, answered(429, 60_000)),
    ).toEqual({
      kind: 'retry',
      code: 'messaging/message-rate-exceeded',
      detail: 'fcm 429: q',
      retryAfterMs: 60_000,
    });
    expect(classifyFcmFailure({ message: 'service unavailable' }, answered(503)).kind).toBe('retry');
  });

  it('calls UNREGISTERED and INVALID_ARGUMENT a dead token', () => {
    for (const [status, code] of [
      [404, 'messaging/registration-token-not-registered'],
      [400, 'messaging/invalid-registration-token'],
      [400, 'messaging/invalid-argument'],
    ] as const) {
      expect(classifyFcmFailure({ code, message: 'x' }, answered(status))).toMatchObject({
        kind: 'permanent',
        reason: 'dead_token',
      });
    }
  });

  it('calls other 4xx rejected, leaving the token alone', () => {
    expect(
      classifyFcmFailure({ code: 'messaging/mismatched-credential', message: 'x' }, answered(403)),
    ).toMatchObject({
      reason: 'rejected',
    });
    expect(
      classifyFcmFailure({ code: 'messaging/third-party-auth-error', message: 'x' }, answered(401)),
    ).toMatchObject({
      reason: 'rejected',
    });
  });

  it('calls 500 and other 5xx unknown', () => {
    expect(classifyFcmFailure({ code: 'messaging/internal-error', message: 'x' }, answered(500)).kind).toBe(
      'unknown',
    );
    expect(classifyFcmFailure({ code: 'messaging/unknown-error', message: 'x' }, answered(502)).kind).toBe(
      'unknown',
    );
  });

  it('retries when the request was not written, and calls it unknown when it was', () => {
    expect(
      classifyFcmFailure({ code: 'ECONNREFUSED', message: 'x' }, { requestMade: true, written: false }).kind,
    ).toBe('retry');
    expect(
      classifyFcmFailure({ code: 'ECONNRESET', message: 'x' }, { requestMade: true, written: true }).kind,
    ).toBe('unknown');
  });

  it('retries when no request was made for want of a token, and rejects what the SDK refused itself', () => {
    expect(
      classifyFcmFailure(
        { code: 'app/invalid-credential', message: 'x' },
        { requestMade: false, written: false },
      ).kind,
    ).toBe('retry');
    expect(
      classifyFcmFailure(
        { code: 'messaging/invalid-payload', message: 'x' },
        { requestMade: false, written: false },
      ),
    ).toMatchObject({ kind: 'permanent', reason: 'rejected' });
  });
});
