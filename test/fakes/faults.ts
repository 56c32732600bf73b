/**
 * A failure a fake injects instead of its normal answer.
 * - `error`: answer with this status (SMTP reply code or HTTP status), an optional provider code
 *   (SMTP enhanced status "5.1.1", Twilio 21211, FCM errorCode "UNREGISTERED"), message and
 *   Retry-After. SMTP only: `stage` 'rcpt' (default, refuses the recipient) or 'data' (refuses the
 *   message after its content arrived).
 * - `delay`: take the message, answer normally after `ms`.
 * - `drop`: take the message (it is logged as delivered), then cut the connection without an answer.
 * - `hold`: take the message (logged as `held`, delivered: the provider may have it) and answer nothing
 *   until the fake's held calls are released (then it answers normally) or the client's connection
 *   closes (a killed worker): a send in flight for as long as a test needs.
 */
export type Fault =
  | {
      readonly type: 'error';
      readonly status: number;
      readonly code?: string | number;
      readonly message?: string;
      readonly retryAfterSeconds?: number;
      readonly stage?: 'rcpt' | 'data';
    }
  | { readonly type: 'delay'; readonly ms: number }
  | { readonly type: 'drop' }
  | { readonly type: 'hold' };

/** A fault for one recipient (`to`) or for any, for the next `times` messages or for all. */
export interface FaultRule {
  readonly fault: Fault;
  /** Address, number or token; any recipient when absent. */
  readonly to?: string;
  /** How many messages it applies to; every one when absent. */
  readonly times?: number;
}

/** Where in an SMTP conversation a fault strikes; HTTP fakes have one point and pass none. */
export type FaultStage = 'rcpt' | 'data';

function stageOf(fault: Fault): FaultStage {
  return fault.type === 'error' ? (fault.stage ?? 'rcpt') : 'data';
}

/** The fault rules of one fake: the first matching rule wins and is used up after `times` uses. */
export class FaultRules {
  readonly #rules: { rule: FaultRule; left: number }[] = [];

  add(rule: FaultRule): void {
    if (rule.times !== undefined && (!Number.isInteger(rule.times) || rule.times < 1)) {
      throw new RangeError('times must be a positive integer');
    }
    this.#rules.push({ rule, left: rule.times ?? Number.POSITIVE_INFINITY });
  }

  /** The fault for a message to `to` (at `stage`, for SMTP), using up one of its rule's uses. */
  take(to: string, stage?: FaultStage): Fault | undefined {
    const index = this.#rules.findIndex(
      ({ rule }) =>
        (rule.to === undefined || rule.to.toLowerCase() === to.toLowerCase()) &&
        (stage === undefined || stageOf(rule.fault) === stage),
    );
    const entry = this.#rules[index];
    if (entry === undefined) return undefined;
    entry.left -= 1;
    if (entry.left <= 0) this.#rules.splice(index, 1);
    return entry.rule.fault;
  }

  clear(): void {
    this.#rules.length = 0;
  }

  get size(): number {
    return this.#rules.length;
  }
}

const STAGES: readonly string[] = ['rcpt', 'data'];

/** Validates a rule that came over the control API. */
export function parseFaultRule(input: unknown): FaultRule | string {
  if (typeof input !== 'object' || input === null) return 'expected an object';
  const { fault, to, times } = input as { fault?: unknown; to?: unknown; times?: unknown };
  if (to !== undefined && typeof to !== 'string') return 'to must be a string';
  if (times !== undefined && (typeof times !== 'number' || !Number.isInteger(times) || times < 1)) {
    return 'times must be a positive integer';
  }
  if (typeof fault !== 'object' || fault === null) return 'fault must be an object';
  const f = fault as Record<string, unknown>;
  let parsed: Fault;
  if (f.type === 'drop') parsed = { type: 'drop' };
  else if (f.type === 'hold') parsed = { type: 'hold' };
  else if (f.type === 'delay' && typeof f.ms === 'number' && f.ms >= 0) parsed = { type: 'delay', ms: f.ms };
  else if (f.type === 'error' && typeof f.status === 'number') {
    if (f.code !== undefined && typeof f.code !== 'string' && typeof f.code !== 'number')
      return 'bad fault.code';
    if (f.message !== undefined && typeof f.message !== 'string') return 'bad fault.message';
    if (f.retryAfterSeconds !== undefined && typeof f.retryAfterSeconds !== 'number')
      return 'bad retryAfterSeconds';
    if (f.stage !== undefined && !STAGES.includes(String(f.stage))) return "fault.stage is 'rcpt' or 'data'";
    parsed = {
      type: 'error',
      status: f.status,
      ...(f.code !== undefined ? { code: f.code as string | number } : {}),
      ...(f.message !== undefined ? { message: f.message as string } : {}),
      ...(f.retryAfterSeconds !== undefined ? { retryAfterSeconds: f.retryAfterSeconds as number } : {}),
      ...(f.stage !== undefined ? { stage: f.stage as FaultStage } : {}),
    };
  } else return "fault.type is 'error' (with status), 'delay' (with ms), 'drop' or 'hold'";
  return {
    fault: parsed,
    ...(to !== undefined ? { to } : {}),
    ...(times !== undefined ? { times } : {}),
  };
}
