import { describe, expect, it } from 'vitest';
import { classifyFcmFailure, classifyFcmResponse } from '../../../src/channels/push/classify.js';
import { fcmEndpoint } from '../../../src/channels/push/fcm-request.js';

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

/** Google's error JSON as FCM sends it, with `details[0].errorCode` when given. */
function googleError(status: number, errorCode?: string): string {
  const details =
    errorCode === undefined
      ? []
      : [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode }];
  return JSON.stringify({ error: { code: status, message: 'm', status: 'S', details } });
}

describe("FCM's answer to a send", () => {
  it('is accepted on 200 with the message name, unknown on a 200 without one or cut off', () => {
    expect(classifyFcmResponse({ status: 200, body: '{"name":"projects/p/messages/1"}' })).toEqual({
      kind: 'accepted',
      providerId: 'projects/p/messages/1',
    });
    expect(classifyFcmResponse({ status: 200, body: '{}' }).kind).toBe('unknown');
    expect(classifyFcmResponse({ status: 200, body: undefined }).kind).toBe('unknown');
  });

  it("names errors with firebase-admin's codes, from FCM's errorCode", () => {
    expect(classifyFcmResponse({ status: 404, body: googleError(404, 'UNREGISTERED') })).toMatchObject({
      kind: 'permanent',
      reason: 'dead_token',
      code: 'messaging/registration-token-not-registered',
    });
    expect(classifyFcmResponse({ status: 400, body: googleError(400, 'INVALID_ARGUMENT') })).toMatchObject({
      reason: 'dead_token',
      code: 'messaging/invalid-argument',
    });
    expect(classifyFcmResponse({ status: 403, body: googleError(403, 'SENDER_ID_MISMATCH') })).toMatchObject({
      reason: 'rejected',
      code: 'messaging/mismatched-credential',
    });
  });

  it("leaves the token alone on a 404 or 400 without FCM's errorCode (a wrong path or project)", () => {
    expect(classifyFcmResponse({ status: 404, body: googleError(404) })).toMatchObject({
      kind: 'permanent',
      reason: 'rejected',
      code: '404',
    });
    expect(classifyFcmResponse({ status: 400, body: '<html>' })).toMatchObject({ reason: 'rejected' });
  });

  it('retries 429 and 503 with their Retry-After, whatever the body', () => {
    expect(classifyFcmResponse({ status: 503, body: undefined, retryAfterMs: 5_000 })).toMatchObject({
      kind: 'retry',
      retryAfterMs: 5_000,
    });
    expect(classifyFcmResponse({ status: 429, body: googleError(429, 'QUOTA_EXCEEDED') })).toMatchObject({
      kind: 'retry',
      code: 'messaging/message-rate-exceeded',
    });
  });
});

describe('the FCM endpoint', () => {
  it('is {base}/v1/projects/{id}/messages:send, under any path of the base', () => {
    expect(fcmEndpoint(new URL('https://fcm.googleapis.com'), 'klix-test', 1).url.href).toBe(
      'https://fcm.googleapis.com/v1/projects/klix-test/messages:send',
    );
    expect(fcmEndpoint(new URL('http://127.0.0.1:4020/fcm'), 'klix-test', 1).url.href).toBe(
      'http://127.0.0.1:4020/fcm/v1/projects/klix-test/messages:send',
    );
  });
});
