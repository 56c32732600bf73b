import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Channel } from '../domain/vocabulary.js';
import { buildInfo } from './build-info.js';

/**
 * What this process did, counted in memory (docs/operations.md, "Metrics"). One registry per process:
 * the channel workers count into it on their hot path (plain increments, no awaits, no I/O), a worker
 * role exposes it on METRICS_PORT, and the api merges it into `GET /metrics`. Labels are closed sets
 * (channel, outcome, skip reason), never an id or anything personal.
 */
export const processRegistry = new Registry();

/** How a send attempt ended: `retried` is a "certainly not accepted" answer that BullMQ will try again. */
export type SendOutcome = 'sent' | 'failed' | 'indeterminate' | 'retried';

const sends = new Counter({
  name: 'consentcast_sends_total',
  help: 'Send attempts by channel and outcome, counted by the channel worker that made them',
  labelNames: ['channel', 'outcome'] as const,
  registers: [processRegistry],
});

const skips = new Counter({
  name: 'consentcast_send_skips_total',
  help: 'Messages a channel worker ended as skipped at claim time, by channel and reason (consent re-check, N1)',
  labelNames: ['channel', 'reason'] as const,
  registers: [processRegistry],
});

const latency = new Histogram({
  name: 'consentcast_send_duration_seconds',
  help: 'From claiming a message to the provider answer (render and send), by channel and outcome',
  labelNames: ['channel', 'outcome'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [processRegistry],
});

const handoff = new Histogram({
  name: 'consentcast_claim_to_handoff_seconds',
  help: 'From the claim (consent re-check) committing to the provider call starting, by channel (N13: just before the send)',
  labelNames: ['channel'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  registers: [processRegistry],
});

/** The counters the channel worker touches; each call is a map lookup and an addition. */
export const sendMetrics = {
  /** One attempt that reached a provider answer (or failed before it), with its duration since the claim. */
  attempt(channel: Channel, outcome: SendOutcome, seconds: number): void {
    sends.inc({ channel, outcome });
    latency.observe({ channel, outcome }, seconds);
  },
  /** An attempt that ended without reaching a provider (the message could not be built). */
  outcome(channel: Channel, outcome: SendOutcome): void {
    sends.inc({ channel, outcome });
  },
  skipped(channel: Channel, reason: string): void {
    skips.inc({ channel, reason });
  },
  /** A provider call started this long after its message's claim committed. */
  handoff(channel: Channel, seconds: number): void {
    handoff.observe({ channel }, seconds);
  },
};

/**
 * prom-client's defaults include three gauges named like counters (`nodejs_active_handles_total`,
 * `…_requests_total`, `…_resources_total`): `promtool check metrics` refuses them ("non-counter
 * metrics should not have _total suffix"), and `rate()` over them would be nonsense. Each is the sum
 * of its per-type gauge (`nodejs_active_handles{type}`, …), which stays: `sum(nodejs_active_handles)`.
 */
const GAUGES_NAMED_LIKE_COUNTERS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

let defaultsOn = false;

/**
 * Process metrics (CPU, memory, event loop lag, GC, handles) and `consentcast_build_info` into the
 * process registry; once per process.
 */
export function enableProcessMetrics(): void {
  if (defaultsOn) return;
  defaultsOn = true;
  collectDefaultMetrics({ register: processRegistry });
  for (const name of GAUGES_NAMED_LIKE_COUNTERS) processRegistry.removeSingleMetric(name);
  const info = buildInfo();
  new Gauge({
    name: 'consentcast_build_info',
    help: 'Always 1; the labels say which consentcast version runs on which Node.js',
    labelNames: ['version', 'node'] as const,
    registers: [processRegistry],
  }).set({ version: info.version, node: info.node }, 1);
}
