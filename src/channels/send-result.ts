import { scrubText } from '../logging/scrub.js';

/**
 * Why a provider refused a message for good, and so what the caller does about it:
 * `hard_bounce` suppresses the address, `invalid_number` the number, `dead_token` invalidates the
 * device token, `rejected` only fails the message.
 */
export type PermanentReason = 'hard_bounce' | 'invalid_number' | 'dead_token' | 'rejected';

/**
 * The outcome of one provider send, classified for "never send twice" (docs/providers.md):
 * - `accepted`: the provider took the message; `providerId` is its id for it.
 * - `retry`: the provider certainly did not take it; sending again cannot duplicate it.
 * - `unknown`: it may have taken it (the request was written, the answer never came or was
 *   ambiguous). Never sent again: the caller marks the message `indeterminate`.
 * - `permanent`: refused for good; `reason` says what else to do.
 * `code` is the provider's (SMTP reply, Twilio error code, FCM error code) or the transport's
 * (ECONNREFUSED, timeout). Every `code` and `detail` is scrubbed of addresses, numbers and tokens:
 * providers echo them. Same shape as `SendResult` in src/delivery/sender.ts.
 */
export type SendResult =
  | { readonly kind: 'accepted'; readonly providerId: string }
  | {
      readonly kind: 'retry';
      readonly code: string;
      readonly detail: string;
      /** The provider's Retry-After, when it gave one. */
      readonly retryAfterMs?: number;
    }
  | { readonly kind: 'unknown'; readonly code: string; readonly detail: string }
  | {
      readonly kind: 'permanent';
      readonly reason: PermanentReason;
      readonly code: string;
      readonly detail: string;
      /** Push tokens the provider said are dead (each is invalidated). */
      readonly deadTokens?: readonly string[];
    };

function clean(code: string | number, detail: string): { code: string; detail: string } {
  return { code: scrubText(String(code)), detail: scrubText(detail) };
}

export function accepted(providerId: string): SendResult {
  return { kind: 'accepted', providerId };
}

export function retry(code: string | number, detail: string, retryAfterMs?: number): SendResult {
  return { kind: 'retry', ...clean(code, detail), ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
}

export function unknown(code: string | number, detail: string): SendResult {
  return { kind: 'unknown', ...clean(code, detail) };
}

export function permanent(reason: PermanentReason, code: string | number, detail: string): SendResult {
  return { kind: 'permanent', reason, ...clean(code, detail) };
}
