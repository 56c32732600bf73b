import { requestWritten } from '../http-attempt.js';
import { permanent, retry, type SendResult, unknown } from '../send-result.js';

/** Twilio error codes that mean the number cannot get our SMS (https://www.twilio.com/docs/api/errors). */
export const INVALID_NUMBER_CODES: ReadonlySet<number> = new Set([
  21211, // invalid 'To' phone number
  21214, // 'To' number cannot be reached
  21217, // phone number does not appear to be valid
  21401, // invalid phone number
  21407, // number type does not support SMS
  21421, // phone number is invalid
  21610, // recipient unsubscribed (replied STOP to the sender)
  21612, // 'To' number not reachable via SMS
  21614, // 'To' number is not a mobile number
]);

/** A failed Twilio call: an HTTP answer (status, Twilio code) or a transport error. */
export interface TwilioFailure {
  readonly status?: number;
  readonly code?: number | string;
  readonly message: string;
  /** Transport errors: whether the request was written in full; undefined when nobody can tell. */
  readonly written?: boolean;
}

/** Reads a RestException / TwilioServiceException (status + code) or an axios transport error. */
export function twilioFailureOf(error: unknown): TwilioFailure {
  if (!(error instanceof Error)) return { message: String(error) };
  const e = error as Error & { status?: unknown; code?: unknown; request?: unknown };
  const code = typeof e.code === 'number' || typeof e.code === 'string' ? { code: e.code } : {};
  if (typeof e.status === 'number') return { status: e.status, message: e.message, ...code };
  const written = requestWritten(e.request);
  return { message: e.message, ...code, ...(written === undefined ? {} : { written }) };
}

/**
 * Classifies a failed Messages.create (docs/providers.md): 429 and 503 were not accepted; other
 * 5xx are ambiguous; 4xx are permanent, `invalid_number` for the codes above. Without an answer
 * it depends on whether the request was written in full.
 */
export function classifyTwilioFailure(failure: TwilioFailure, retryAfterMs?: number): SendResult {
  const { status } = failure;
  if (status === undefined) {
    const code = failure.code ?? 'twilio';
    if (failure.written === false) return retry(code, `twilio: the request was not sent: ${failure.message}`);
    return unknown(code, `twilio: no answer after the request was sent: ${failure.message}`);
  }
  const code = failure.code ?? status;
  const detail = `twilio ${status}: ${failure.message}`;
  if (status === 429 || status === 503) return retry(code, detail, retryAfterMs);
  if (status >= 400 && status < 500) {
    const invalid = typeof code === 'number' && INVALID_NUMBER_CODES.has(code);
    return permanent(invalid ? 'invalid_number' : 'rejected', code, detail);
  }
  return unknown(code, detail);
}
