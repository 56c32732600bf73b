import type { MachineCpu } from './machine-cpu.js';
import type { LatencySummary } from './stats.js';
import type { JsonValue, VariantContext } from './types.js';

/**
 * Parent → child: the request travels in this environment variable (JSON); child → parent: one
 * `ChildReply` over the IPC channel. Without an IPC channel (the child started by hand for
 * debugging) the child prints the reply on stdout instead.
 */
export const CHILD_REQUEST_ENV = 'CONSENTCAST_BENCH_REQUEST';

export interface ChildRequest {
  readonly context: VariantContext<JsonValue, JsonValue>;
}

/** What one child measured around one `run`. */
export interface Measurement {
  readonly operations: number;
  readonly seconds: number;
  readonly opsPerSec: number;
  readonly latencyMs: LatencySummary | null;
  /** CPU time (user + system) of the child during `run`, all its threads: how busy the client side was. */
  readonly cpuSeconds: number;
  /** RSS just before `run` (runtime, tsx and the benchmark module loaded) and the process's peak. */
  readonly rssStartMb: number;
  readonly rssPeakMb: number;
  /**
   * CPU seconds of the whole machine during `run`, and of the PostgreSQL and Redis servers in it
   * (null off Linux): the servers' share, which `cpuSeconds` does not see.
   */
  readonly machineCpu: MachineCpu | null;
  /** Channel workers only: claim committed → provider call started, per message. */
  readonly claimToHandoffMs?: HandoffSummary;
}

export interface HandoffSummary {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export type ChildReply =
  | { readonly ok: true; readonly measurement: Measurement }
  | { readonly ok: false; readonly error: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function parseChildRequest(text: string | undefined): ChildRequest {
  if (text === undefined)
    throw new Error(`${CHILD_REQUEST_ENV} is not set: this file is started by bench/run.ts`);
  const value: unknown = JSON.parse(text);
  const context = isRecord(value) ? value.context : undefined;
  const slot = isRecord(context) ? context.slot : undefined;
  if (
    !isRecord(context) ||
    typeof context.benchmark !== 'string' ||
    typeof context.runId !== 'string' ||
    typeof context.size !== 'number' ||
    !isRecord(context.services) ||
    !isRecord(slot) ||
    typeof slot.variant !== 'string'
  ) {
    throw new Error(`${CHILD_REQUEST_ENV} is not a benchmark request`);
  }
  // The parent serialised a VariantContext it built itself: the shape checks above guard against
  // a stray or hand-written value, not against the parent.
  return value as unknown as ChildRequest;
}

export function isChildReply(value: unknown): value is ChildReply {
  if (!isRecord(value)) return false;
  if (value.ok === false) return typeof value.error === 'string';
  return value.ok === true && isRecord(value.measurement) && typeof value.measurement.opsPerSec === 'number';
}
