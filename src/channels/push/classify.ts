import { accepted, permanent, retry, type SendResult, unknown } from '../send-result.js';

/** Codes of a token FCM will never deliver to again (UNREGISTERED, INVALID_ARGUMENT). */
export const DEAD_TOKEN_CODES: ReadonlySet<string> = new Set([
  'messaging/registration-token-not-registered',
  'messaging/invalid-registration-token',
  'messaging/invalid-argument',
]);

/**
 * FCM v1's `details[].errorCode` under the names firebase-admin gave them, so that the codes we
 * record stayed the same when we stopped sending through the SDK. An errorCode not listed is
 * `messaging/unknown-error`, as in the SDK.
 */
const FCM_ERROR_CODES: Readonly<Record<string, string>> = {
  UNSPECIFIED_ERROR: 'messaging/unknown-error',
  INVALID_ARGUMENT: 'messaging/invalid-argument',
  UNREGISTERED: 'messaging/registration-token-not-registered',
  SENDER_ID_MISMATCH: 'messaging/mismatched-credential',
  QUOTA_EXCEEDED: 'messaging/message-rate-exceeded',
  UNAVAILABLE: 'messaging/server-unavailable',
  INTERNAL: 'messaging/internal-error',
  THIRD_PARTY_AUTH_ERROR: 'messaging/third-party-auth-error',
  APNS_AUTH_ERROR: 'messaging/third-party-auth-error',
};

const FCM_ERROR_TYPE = 'type.googleapis.com/google.firebase.fcm.v1.FcmError';

/** What became of the one HTTP request of a push send. */
export interface FcmAnswer {
  /** An HTTP request for the send was started. */
  readonly requestMade: boolean;
  /** It was written in full. */
  readonly written: boolean;
  /** The HTTP status of the answer, when one came. */
  readonly status?: number;
  readonly retryAfterMs?: number;
}

/** Why a send failed: a code ("messaging/...", "app/...", ECONNRESET, timeout) and text. */
export interface FcmError {
  readonly code?: string;
  readonly message: string;
}

export function fcmErrorOf(error: unknown): FcmError {
  if (!(error instanceof Error)) return { message: String(error) };
  const code: unknown = Reflect.get(error, 'code');
  return { message: error.message, ...(typeof code === 'string' ? { code } : {}) };
}

/** FCM's answer to `messages:send`: its status, its body (undefined when cut off) and Retry-After. */
export interface FcmResponse {
  readonly status: number;
  readonly body: string | undefined;
  readonly retryAfterMs?: number;
}

/**
 * Classifies an answer of FCM: 200 with the message `name` is accepted; a 200 nobody can read is
 * unknown (it was taken, but we cannot tell which id it got); anything else is a failure.
 */
export function classifyFcmResponse(response: FcmResponse): SendResult {
  const json = parseJson(response.body);
  const { status } = response;
  if (status === 200) {
    const name = field(json, 'name');
    return typeof name === 'string' && name !== ''
      ? accepted(name)
      : unknown(status, 'fcm 200: the answer has no message name');
  }
  return classifyFcmFailure(googleErrorOf(json, status), {
    requestMade: true,
    written: true,
    status,
    ...(response.retryAfterMs !== undefined ? { retryAfterMs: response.retryAfterMs } : {}),
  });
}

/**
 * Classifies a failed FCM send (docs/providers.md) from the HTTP answer first, the code second:
 * 429 and 503 were not accepted; 404 UNREGISTERED and 400 INVALID_ARGUMENT mean a dead token;
 * other 4xx are permanent; 5xx are ambiguous. Without an answer it depends on whether the request
 * was written in full; an error before any request means the message itself was refused
 * (`messaging/` code: permanent) or no access token could be had (not sent).
 */
export function classifyFcmFailure(error: FcmError, answer: FcmAnswer): SendResult {
  const { status } = answer;
  if (status !== undefined) {
    const code = error.code ?? status;
    const detail = `fcm ${status}: ${error.message}`;
    if (status === 429 || status === 503) return retry(code, detail, answer.retryAfterMs);
    if ((status === 404 || status === 400) && DEAD_TOKEN_CODES.has(String(code))) {
      return permanent('dead_token', code, detail);
    }
    if (status >= 400 && status < 500) return permanent('rejected', code, detail);
    return unknown(code, detail);
  }
  const code = error.code ?? 'fcm';
  if (!answer.requestMade) {
    const refusedMessage = code.startsWith('messaging/');
    return refusedMessage
      ? permanent('rejected', code, `fcm: the message was refused before sending: ${error.message}`)
      : retry(code, `fcm: no request was made: ${error.message}`);
  }
  if (answer.written) return unknown(code, `fcm: no answer after the request was sent: ${error.message}`);
  return retry(code, `fcm: the request was not sent: ${error.message}`);
}

/**
 * Google's error JSON: `{ error: { message, status, details: [{ '@type': FcmError, errorCode }] } }`.
 * The code comes from FCM's `errorCode` only: a 404 without it (a wrong path or project, say) must
 * not read as a dead token, or every token of a misconfigured sender would be dropped.
 */
function googleErrorOf(json: unknown, status: number): FcmError {
  const error = field(json, 'error');
  const text = field(error, 'message');
  const message = typeof text === 'string' && text !== '' ? text : `HTTP ${status}`;
  const details = field(error, 'details');
  const fcm = Array.isArray(details)
    ? details.find((d: unknown) => field(d, '@type') === FCM_ERROR_TYPE)
    : undefined;
  const errorCode = field(fcm, 'errorCode');
  if (typeof errorCode !== 'string') return { message };
  return { code: FCM_ERROR_CODES[errorCode] ?? 'messaging/unknown-error', message };
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null && Object.hasOwn(value, key)
    ? Reflect.get(value, key)
    : undefined;
}
