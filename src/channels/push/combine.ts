import type { SendResult } from '../send-result.js';

/**
 * A push send to one person's devices: one outcome for the message, and the tokens to drop —
 * whatever the outcome: a message accepted on one device may have found another token dead.
 */
export type PushSendResult = SendResult & {
  /** Tokens FCM will never deliver to again (UNREGISTERED / INVALID_ARGUMENT): invalidate them. */
  readonly deadTokens: readonly string[];
};

export interface TokenResult {
  readonly token: string;
  readonly result: SendResult;
}

/**
 * One outcome for a message sent to several devices, so that it is never sent twice:
 * - any device accepted it → accepted (the others' transient failures are not retried: a retry
 *   would send it again to the devices that have it);
 * - else any unknown → unknown (it may have arrived somewhere);
 * - else any retry → retry (nothing arrived anywhere), after the longest Retry-After;
 * - else all permanent → dead_token when every token is dead, otherwise the first other kind.
 */
export function combinePushResults(results: readonly TokenResult[]): PushSendResult {
  const deadTokens = results
    .filter((r) => r.result.kind === 'permanent' && r.result.reason === 'dead_token')
    .map((r) => r.token);
  const outcomes = results.map((r) => r.result);
  const pick =
    outcomes.find((r) => r.kind === 'accepted') ??
    outcomes.find((r) => r.kind === 'unknown') ??
    longestRetry(outcomes) ??
    outcomes.find((r) => r.kind === 'permanent' && r.reason !== 'dead_token') ??
    outcomes[0];
  if (pick === undefined) throw new TypeError('a push send needs at least one token');
  return { ...pick, deadTokens };
}

function longestRetry(outcomes: readonly SendResult[]): SendResult | undefined {
  let best: Extract<SendResult, { kind: 'retry' }> | undefined;
  for (const r of outcomes) {
    if (r.kind !== 'retry') continue;
    if (best === undefined || (r.retryAfterMs ?? 0) > (best.retryAfterMs ?? 0)) best = r;
  }
  return best;
}
