import { permanent, retry, type SendResult, unknown } from '../send-result.js';

/** firebase-admin codes of a token FCM will never deliver to again (UNREGISTERED, INVALID_ARGUMENT). */
export const DEAD_TOKEN_CODES: ReadonlySet<string> = new Set([
  'messaging/registration-token-not-registered',
  'messaging/invalid-registration-token',
  'messaging/invalid-argument',
]);

/** What became of the one HTTP request of a push send (recorded by SendAttempt). */
export interface FcmAnswer {
  /** An HTTP request for the send was started. */
  readonly requestMade: boolean;
  /** It was written in full. */
  readonly written: boolean;
  /** The HTTP status of the answer, when one came. */
  readonly status?: number;
  readonly retryAfterMs?: number;
}

/** The SDK's error, when there is one: a firebase-admin code ("messaging/...", "app/...") and text. */
export interface FcmError {
  readonly code?: string;
  readonly message: string;
}

export function fcmErrorOf(error: unknown): FcmError {
  if (!(error instanceof Error)) return { message: String(error) };
  const code: unknown = (error as Error & { code?: unknown }).code;
  return { message: error.message, ...(typeof code === 'string' ? { code } : {}) };
}

/**
 * Classifies a failed FCM send (docs/providers.md) from the HTTP answer first, the SDK's code
 * second: 429 and 503 were not accepted; 404 UNREGISTERED and 400 INVALID_ARGUMENT mean a dead
 * token; other 4xx are permanent; 5xx are ambiguous. Without an answer it depends on whether the
 * request was written in full; an error before any request means the SDK refused the message
 * itself (permanent) or could not get a token (not sent).
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
    const refusedBySdk = code.startsWith('messaging/');
    return refusedBySdk
      ? permanent('rejected', code, `fcm: the SDK refused the message: ${error.message}`)
      : retry(code, `fcm: no request was made: ${error.message}`);
  }
  if (answer.written) return unknown(code, `fcm: no answer after the request was sent: ${error.message}`);
  return retry(code, `fcm: the request was not sent: ${error.message}`);
}
