import type { Queue } from 'bullmq';
import { sql } from 'kysely';
import { Gauge, Registry } from 'prom-client';
import type { Db } from '../db/database.js';
import { CHANNELS } from '../domain/vocabulary.js';
import type { Logger } from '../logging/logger.js';
import { enableProcessMetrics, processRegistry } from './process-metrics.js';

/**
 * What the api's `GET /metrics` shows besides its own process registry: figures of the whole
 * deployment, read on scrape so they move when workers in other processes send (docs/operations.md).
 * Queue figures come from Redis, message and withdrawal figures from PostgreSQL; each source has a
 * short timeout, and a source that fails leaves its gauges empty (not stale) and `..._source_up` 0.
 */

/** BullMQ job states reported per queue. */
export const QUEUE_STATES = ['waiting', 'delayed', 'active', 'failed', 'prioritized'] as const;

export interface ApiMetricsOptions {
  /** How long a Redis read may take before the scrape gives up on it. */
  readonly redisTimeoutMs?: number;
  /** statement_timeout of the PostgreSQL counts. */
  readonly postgresTimeoutMs?: number;
  /** PostgreSQL counts scan whole tables: scrapes within this time reuse the last answer. */
  readonly postgresCacheMs?: number;
}

export interface ApiMetrics {
  readonly contentType: string;
  /** The exposition text: refreshes the Redis and PostgreSQL gauges, then renders every metric. */
  render(): Promise<string>;
}

interface PgSnapshot {
  readonly messages: readonly {
    channel: string;
    status: string;
    reason: string | null;
    n: number;
    unresolved: number;
  }[];
  readonly withdrawals: readonly { source: string; n: number }[];
  readonly stops: readonly { scope: string; open: boolean }[];
  readonly expired: readonly { channel: string; n: number; oldest_seconds: number }[];
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function readPostgres(db: Db, timeoutMs: number): Promise<PgSnapshot> {
  return db.transaction().execute(async (trx) => {
    await sql`SELECT set_config('statement_timeout', ${String(timeoutMs)}, true)`.execute(trx);
    const messages = await sql<{
      channel: string;
      status: string;
      reason: string | null;
      n: number;
      unresolved: number;
    }>`
      SELECT channel, status, skip_reason AS reason, count(*)::int AS n,
             count(*) FILTER (WHERE resolution IS NULL)::int AS unresolved
      FROM messages GROUP BY channel, status, skip_reason
    `.execute(trx);
    const withdrawals = await sql<{ source: string; n: number }>`
      SELECT source, count(*)::int AS n FROM consent_events WHERE action = 'withdraw' GROUP BY source
    `.execute(trx);
    const stops = await sql<{ scope: string; open: boolean }>`
      SELECT scope, open_stop_id IS NOT NULL AS open FROM send_stop_scopes
    `.execute(trx);
    const expired = await sql<{ channel: string; n: number; oldest_seconds: number }>`
      SELECT channel, count(*)::int AS n,
             extract(epoch FROM now() - min(lease_expires_at))::float8 AS oldest_seconds
      FROM messages WHERE status = 'sending' AND lease_expires_at < now() GROUP BY channel
    `.execute(trx);
    return {
      messages: messages.rows,
      withdrawals: withdrawals.rows,
      stops: stops.rows,
      expired: expired.rows,
    };
  });
}

async function readQueue(queue: Queue, now: number) {
  const [counts, [oldest], paused] = await Promise.all([
    queue.getJobCounts(...QUEUE_STATES),
    queue.getJobs(['wait'], 0, 0, true),
    queue.isPaused(),
  ]);
  const readyAt = oldest === undefined ? undefined : oldest.timestamp + (oldest.delay ?? 0);
  return {
    name: queue.name,
    counts,
    paused,
    oldestAgeSeconds: readyAt === undefined ? 0 : Math.max(0, (now - readyAt) / 1000),
  };
}

export function createApiMetrics(
  deps: { readonly db: Db; readonly queues: ReadonlyMap<string, Queue>; readonly logger: Logger },
  options: ApiMetricsOptions = {},
): ApiMetrics {
  const redisTimeoutMs = options.redisTimeoutMs ?? 2_000;
  const postgresTimeoutMs = options.postgresTimeoutMs ?? 3_000;
  const postgresCacheMs = options.postgresCacheMs ?? 5_000;
  enableProcessMetrics();
  const own = new Registry();
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    new Gauge<L>({ name, help, labelNames, registers: [own] });

  const queueJobs = gauge('consentcast_queue_jobs', 'Jobs per BullMQ queue and state (Redis, on scrape)', [
    'queue',
    'state',
  ]);
  const oldestAge = gauge(
    'consentcast_queue_oldest_waiting_age_seconds',
    'Age of the oldest waiting job per queue, since it became ready (Redis, on scrape); 0 when none waits',
    ['queue'],
  );
  const paused = gauge('consentcast_queue_paused', '1 when the queue is paused (Redis, on scrape)', [
    'queue',
  ]);
  const messages = gauge(
    'consentcast_messages',
    'Messages by channel and current status, across every worker (PostgreSQL, on scrape)',
    ['channel', 'status'],
  );
  const skipped = gauge(
    'consentcast_message_skips',
    'Messages ended as skipped, by channel and reason (PostgreSQL, on scrape)',
    ['channel', 'reason'],
  );
  const withdrawals = gauge(
    'consentcast_consent_withdrawals',
    'Withdrawals in the consent ledger by source (PostgreSQL, on scrape; retention may lower it)',
    ['source'],
  );
  const stopOpen = gauge(
    'consentcast_emergency_stop_open',
    '1 while an emergency stop of the scope (all, email, sms, push) is open: claims refuse (PostgreSQL, on scrape)',
    ['scope'],
  );
  const unresolved = gauge(
    'consentcast_messages_indeterminate_unresolved',
    'Indeterminate messages no operator has resolved yet (sent or not_sent), by channel (PostgreSQL, on scrape)',
    ['channel'],
  );
  const expiredLeases = gauge(
    'consentcast_messages_on_expired_lease',
    'Messages still sending whose worker stopped renewing the lease, waiting for the reconciler (PostgreSQL, on scrape)',
    ['channel'],
  );
  const expiredSince = gauge(
    'consentcast_messages_on_expired_lease_oldest_seconds',
    'Seconds since the oldest such lease ran out (PostgreSQL, on scrape)',
    ['channel'],
  );
  const up = gauge(
    'consentcast_metrics_source_up',
    '1 when the last scrape could read the source (redis, postgres), 0 when it failed or timed out',
    ['source'],
  );
  const pgGauges = [messages, skipped, unresolved, withdrawals, stopOpen, expiredLeases, expiredSince];
  const registry = Registry.merge([own, processRegistry]);

  let pg: { at: number; snapshot: Promise<PgSnapshot> } | undefined;
  const postgres = (): Promise<PgSnapshot> => {
    const now = Date.now();
    if (pg === undefined || now - pg.at > postgresCacheMs) {
      const snapshot = readPostgres(deps.db, postgresTimeoutMs);
      pg = { at: now, snapshot };
      // a failed read is not cached
      snapshot.catch(() => {
        if (pg?.snapshot === snapshot) pg = undefined;
      });
    }
    return pg.snapshot;
  };

  const refreshRedis = async (): Promise<void> => {
    const now = Date.now();
    try {
      const all = await withTimeout(
        Promise.all([...deps.queues.values()].map((q) => readQueue(q, now))),
        redisTimeoutMs,
        'reading the queues',
      );
      queueJobs.reset();
      oldestAge.reset();
      paused.reset();
      for (const q of all) {
        for (const state of QUEUE_STATES) queueJobs.set({ queue: q.name, state }, q.counts[state] ?? 0);
        oldestAge.set({ queue: q.name }, q.oldestAgeSeconds);
        paused.set({ queue: q.name }, q.paused ? 1 : 0);
      }
      up.set({ source: 'redis' }, 1);
    } catch (err) {
      deps.logger.warn({ err }, 'metrics: queue figures unavailable');
      queueJobs.reset();
      oldestAge.reset();
      paused.reset();
      up.set({ source: 'redis' }, 0);
    }
  };

  const refreshPostgres = async (): Promise<void> => {
    try {
      const snapshot = await postgres();
      for (const g of pgGauges) g.reset();
      for (const channel of CHANNELS) unresolved.set({ channel }, 0);
      for (const m of snapshot.messages) {
        messages.inc({ channel: m.channel, status: m.status }, m.n);
        if (m.status === 'skipped') skipped.inc({ channel: m.channel, reason: m.reason ?? 'unknown' }, m.n);
        if (m.status === 'indeterminate') unresolved.inc({ channel: m.channel }, m.unresolved);
      }
      for (const w of snapshot.withdrawals) withdrawals.set({ source: w.source }, w.n);
      for (const st of snapshot.stops) stopOpen.set({ scope: st.scope }, st.open ? 1 : 0);
      for (const channel of CHANNELS) {
        const e = snapshot.expired.find((x) => x.channel === channel);
        expiredLeases.set({ channel }, e?.n ?? 0);
        expiredSince.set({ channel }, e?.oldest_seconds ?? 0);
      }
      up.set({ source: 'postgres' }, 1);
    } catch (err) {
      deps.logger.warn({ err }, 'metrics: message and withdrawal figures unavailable');
      for (const g of pgGauges) g.reset();
      up.set({ source: 'postgres' }, 0);
    }
  };

  return {
    contentType: registry.contentType,
    async render() {
      await Promise.all([refreshRedis(), refreshPostgres()]);
      return registry.metrics();
    },
  };
}
