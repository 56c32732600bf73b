import type { Queue } from 'bullmq';
import { sql } from 'kysely';
import type { Config } from '../config/config.js';
import type { Db } from '../db/database.js';
import { CHANNELS, type Channel } from '../domain/vocabulary.js';
import type { Logger } from '../logging/logger.js';
import { sendJob } from '../queue/send-jobs.js';
import { clockAt } from '../segmentation/rules.js';
import { effectivePolicy, withSendableChannels } from './campaign.js';
import { loadCampaign } from './campaigns.repository.js';
import { markRunStarted, settleCampaigns } from './lifecycle.js';
import { candidateOffers } from './offers-for-run.js';
import { addFunnel, type ChunkPlan, EXCLUSION_REASONS, type Funnel, nextChunk, planChunk } from './plan.js';
import { testSendAudience } from './test-send.js';

/** Another runner holds the run's lease: the job is retried later (BullMQ backoff). */
export class RunBusyError extends Error {
  override readonly name = 'RunBusyError';
}

/** This runner lost the lease mid-run (it was too slow, another took over): stop without writing. */
export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';
}

export interface RunnerDeps {
  readonly db: Db;
  readonly logger: Logger;
  readonly config: Config;
  readonly sendQueues: Readonly<Record<Channel, Queue>>;
}

export interface RunnerOptions {
  /** Identifies this runner in the lease (host:pid:random). */
  readonly owner: string;
  readonly chunkSize: number;
  readonly leaseMs: number;
  /** Called after each chunk is written (progress displays, tests). */
  readonly onChunk?: (progress: { runId: number; checkpoint: number; funnel: Funnel }) => void;
}

export type RunOutcome = 'completed' | 'cancelled' | 'already_finished';

/** Messages to enqueue that share a channel and a quiet-hours end (epoch ms; null: send now). */
interface WrittenGroup {
  channel: Channel;
  notBeforeMs: number | null;
  ids: number[];
}

async function claim(db: Db, runId: number, owner: string, leaseMs: number) {
  return db
    .updateTable('campaign_runs')
    .set({
      status: 'running',
      lease_owner: owner,
      lease_expires_at: sql<Date>`now() + make_interval(secs => ${leaseMs / 1000})`,
      attempts: sql<number>`attempts + 1`,
      started_at: sql<Date>`COALESCE(started_at, now())`,
    })
    .where('id', '=', runId)
    .where('status', 'in', ['pending', 'running'])
    .where((eb) =>
      eb.or([
        eb('lease_owner', 'is', null),
        eb('lease_expires_at', '<', sql<Date>`now()`),
        eb('lease_owner', '=', owner),
      ]),
    )
    .returningAll()
    .executeTakeFirst();
}

/** Distinct values of a column as a small array plus each row's 1-based index into it. */
function dictionary<T, K>(rows: readonly T[], key: (row: T) => K): { values: K[]; index: number[] } {
  const positions = new Map<K, number>();
  const values: K[] = [];
  const index = new Array<number>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const k = key(rows[i] as T);
    let at = positions.get(k);
    if (at === undefined) {
      values.push(k);
      at = values.length;
      positions.set(k, at);
    }
    index[i] = at;
  }
  return { values, index };
}

/**
 * A PostgreSQL array literal of integers, built as one string: pg would otherwise serialise a
 * 10,000-element parameter element by element (a string and an escape per element).
 */
function intArray(values: readonly number[]): string {
  return `{${values.join(',')}}`;
}

const codeOf = <T>(list: readonly T[]) => new Map(list.map((v, i) => [v, i + 1]));
const CHANNEL_CODE = codeOf(CHANNELS);
const REASON_CODE = codeOf(EXCLUSION_REASONS);

/** Parses `string_agg(id::text, ',')`. */
function ids(text: string): number[] {
  return text.split(',').map(Number);
}

/**
 * Writes one chunk's messages and exclusions and moves the checkpoint from `lo` to `hi`, all in one
 * transaction. The compare-and-set on (checkpoint, lease owner) comes first: a runner that lost the run
 * stops before writing anything, and the row lock it takes orders two runners working the same run
 * (the second one's compare-and-set then finds the checkpoint moved). Messages and exclusions go in
 * one statement, as integer arrays (channels, reasons, explanations and quiet-hours ends as 1-based
 * codes into small arrays sent once), and the new message ids come back grouped, not as a row each.
 */
async function writeChunk(
  db: Db,
  run: { id: number; campaignId: number; purpose: string },
  owner: string,
  lo: number,
  hi: number,
  plan: ChunkPlan,
  funnel: Funnel,
  leaseMs: number,
): Promise<WrittenGroup[]> {
  return db.transaction().execute(async (trx) => {
    const moved = await trx
      .updateTable('campaign_runs')
      .set({
        checkpoint_recipient_id: hi,
        funnel: JSON.stringify(funnel),
        lease_expires_at: sql<Date>`now() + make_interval(secs => ${leaseMs / 1000})`,
      })
      .where('id', '=', run.id)
      .where('checkpoint_recipient_id', '=', lo)
      .where('lease_owner', '=', owner)
      .where('status', '=', 'running')
      .executeTakeFirst();
    if (moved.numUpdatedRows !== 1n) throw new LeaseLostError(`run ${run.id} moved on without this runner`);
    const m = plan.messages;
    const e = plan.exclusions;
    const match = dictionary(m, (x) => x.match);
    const notBefore = dictionary(m, (x) => x.notBefore?.getTime() ?? null);
    const { rows } = await sql<{ channel: Channel; not_before_ms: number | null; ids: string }>`
      WITH excluded AS (
        INSERT INTO run_exclusions (run_id, recipient_id, channel, reason)
        SELECT ${run.id}::bigint, u.recipient_id, (${CHANNELS}::text[])[u.channel], (${EXCLUSION_REASONS}::text[])[u.reason]
        FROM unnest(${intArray(e.map((x) => x.recipientId))}::bigint[], ${intArray(e.map((x) => CHANNEL_CODE.get(x.channel) ?? 0))}::int[],
                    ${intArray(e.map((x) => REASON_CODE.get(x.reason) ?? 0))}::int[]) AS u(recipient_id, channel, reason)
        ON CONFLICT DO NOTHING
      ), written AS (
        INSERT INTO messages (run_id, campaign_id, recipient_id, channel, purpose, offer_id, match, not_before)
        SELECT ${run.id}::bigint, ${run.campaignId}::bigint, u.recipient_id, (${CHANNELS}::text[])[u.channel],
               ${run.purpose}::text, u.offer_id, (${match.values.map((x) => JSON.stringify(x))}::jsonb[])[u.match],
               to_timestamp((${notBefore.values}::float8[])[u.not_before] / 1000)
        FROM unnest(${intArray(m.map((x) => x.recipientId))}::bigint[], ${intArray(m.map((x) => CHANNEL_CODE.get(x.channel) ?? 0))}::int[],
                    ${intArray(m.map((x) => x.offerId))}::bigint[], ${intArray(match.index)}::int[], ${intArray(notBefore.index)}::int[])
             AS u(recipient_id, channel, offer_id, match, not_before)
        ON CONFLICT (run_id, recipient_id, channel) DO NOTHING
        RETURNING id, channel, not_before
      )
      SELECT channel, (extract(epoch FROM not_before) * 1000)::float8 AS not_before_ms, string_agg(id::text, ',') AS ids
      FROM written GROUP BY channel, not_before
    `.execute(trx);
    return rows.map((r) => ({ channel: r.channel, notBeforeMs: r.not_before_ms, ids: ids(r.ids) }));
  });
}

// Measured at 200,000 people (docs/benchmarks.md, campaign-fanout): 500 × 2 was the fastest and the
// leanest; one slice at a time lost a fifth of the rate, four of 1,000 took the runner past 300 MB.
const ENQUEUE_SLICE = 500;
const ENQUEUE_IN_FLIGHT = 2;

async function enqueue(queues: RunnerDeps['sendQueues'], groups: readonly WrittenGroup[]): Promise<void> {
  const now = Date.now();
  const byChannel = new Map<Channel, ReturnType<typeof sendJob>[]>();
  for (const g of groups) {
    const list = byChannel.get(g.channel) ?? [];
    const notBefore = g.notBeforeMs === null ? null : new Date(g.notBeforeMs);
    for (const id of g.ids) list.push(sendJob(g.channel, id, notBefore, now));
    byChannel.set(g.channel, list);
  }
  // Slices of ENQUEUE_SLICE jobs, one Redis transaction each, ENQUEUE_IN_FLIGHT of them at once on
  // the shared connection: while Redis runs one slice's scripts, Node builds and writes the next (one
  // slice at a time leaves each side idle half the time). A slice is the unit of memory: the runner
  // never holds more than ENQUEUE_IN_FLIGHT slices serialised at once, whatever the chunk size.
  const slices: { channel: Channel; jobs: ReturnType<typeof sendJob>[] }[] = [];
  for (const [channel, jobs] of byChannel)
    for (let i = 0; i < jobs.length; i += ENQUEUE_SLICE)
      slices.push({ channel, jobs: jobs.slice(i, i + ENQUEUE_SLICE) });
  let next = 0;
  const lane = async (): Promise<void> => {
    for (let s = slices[next++]; s !== undefined; s = slices[next++]) await queues[s.channel].addBulk(s.jobs);
  };
  await Promise.all(Array.from({ length: Math.min(ENQUEUE_IN_FLIGHT, slices.length) }, lane));
}

async function markEnqueued(db: Db, runId: number, through: number): Promise<void> {
  await db
    .updateTable('campaign_runs')
    .set({
      enqueued_through_recipient_id: sql<number>`GREATEST(enqueued_through_recipient_id, ${through}::bigint)`,
    })
    .where('id', '=', runId)
    .execute();
}

type ClaimedRun = NonNullable<Awaited<ReturnType<typeof claim>>>;

/**
 * Enqueues again the messages of the chunks a runner wrote but may have died before enqueueing (from
 * the enqueued mark to the checkpoint). Jobs are keyed by message id, so a job already in Redis is
 * not added twice. Returns how many messages were enqueued.
 */
async function reenqueueWrittenChunks(deps: RunnerDeps, run: ClaimedRun): Promise<number> {
  const pending = await deps.db
    .selectFrom('messages')
    .select([
      'channel',
      sql<number | null>`(extract(epoch FROM not_before) * 1000)::float8`.as('not_before_ms'),
      sql<string>`string_agg(id::text, ',')`.as('ids'),
    ])
    .where('run_id', '=', run.id)
    .where('status', '=', 'queued')
    .where('recipient_id', '>', run.enqueued_through_recipient_id)
    .where('recipient_id', '<=', run.checkpoint_recipient_id)
    .groupBy(['channel', 'not_before'])
    .execute();
  const groups = pending.map((p) => ({
    channel: p.channel,
    notBeforeMs: p.not_before_ms,
    ids: ids(p.ids),
  }));
  await enqueue(deps.sendQueues, groups);
  await markEnqueued(deps.db, run.id, run.checkpoint_recipient_id);
  return groups.reduce((n, g) => n + g.ids.length, 0);
}

/** Ends the run and lets its lease go, if this runner still holds it. */
async function finishRun(
  db: Db,
  runId: number,
  owner: string,
  status: 'completed' | 'cancelled',
): Promise<void> {
  await db
    .updateTable('campaign_runs')
    .set({ status, finished_at: new Date(), lease_owner: null, lease_expires_at: null })
    .where('id', '=', runId)
    .where('lease_owner', '=', owner)
    .execute();
}

/**
 * Runs (or resumes) a campaign run: keyset chunks from the checkpoint on; each chunk planned, written
 * with a compare-and-set on the checkpoint, then enqueued — overlapping the next chunk's SQL with the
 * current chunk's enqueue. A chunk written but not enqueued before a crash is enqueued on resume
 * (jobs are keyed by message id, so enqueueing twice adds nothing).
 */
export async function runCampaign(
  deps: RunnerDeps,
  runId: number,
  options: RunnerOptions,
): Promise<RunOutcome> {
  const { db, logger } = deps;
  const run = await claim(db, runId, options.owner, options.leaseMs);
  if (!run) {
    const current = await db
      .selectFrom('campaign_runs')
      .select(['status'])
      .where('id', '=', runId)
      .executeTakeFirst();
    if (!current || !['pending', 'running'].includes(current.status)) return 'already_finished';
    throw new RunBusyError(`run ${runId} is held by another runner`);
  }
  const stored = await loadCampaign(db, run.campaign_id);
  const sendable = withSendableChannels(stored, deps.config.channels);
  // A test send goes to the seed list only; it leaves the campaign's status alone (lifecycle.ts).
  const campaign = run.trigger === 'test' ? { ...sendable, audience: await testSendAudience(db) } : sendable;
  if (run.trigger !== 'test') await markRunStarted(db, campaign.id, run.id);
  const runRef = { id: run.id, campaignId: campaign.id, purpose: campaign.purpose };
  const log = logger.child({ runId, campaignId: campaign.id });
  const disabled = stored.channels.filter((c) => !campaign.channels.includes(c));
  if (disabled.length > 0)
    log.warn({ channels: disabled }, 'channels not enabled (CHANNELS) are left out of the run');

  // Chunks that were written but whose jobs may not have reached Redis.
  if (run.enqueued_through_recipient_id < run.checkpoint_recipient_id) {
    const reenqueued = await reenqueueWrittenChunks(deps, run);
    log.info({ reenqueued }, 'resumed: re-enqueued messages of chunks written before the crash');
  }

  const policy = effectivePolicy(campaign, deps.config.policy);
  const clock = clockAt(run.started_at ?? new Date());
  let funnel = run.funnel as unknown as Funnel;
  if (typeof funnel !== 'object' || funnel === null || !('considered' in funnel)) {
    funnel = { considered: 0, in_audience: 0, selected: 0, messages: {}, excluded: {} };
  }
  let lo = run.checkpoint_recipient_id;
  let inFlight: Promise<void> = Promise.resolve();
  interface Planned {
    chunk: { hi: number; count: number };
    plan: ChunkPlan;
    capped: boolean;
    planMs: number;
  }
  const planFrom = async (from: number): Promise<Planned | undefined> => {
    const chunk = await nextChunk(db, from, options.chunkSize);
    if (!chunk) return undefined;
    const now = new Date();
    const started = performance.now();
    const offers = await candidateOffers(db, campaign, now);
    const plan = await planChunk(db, { campaign, policy, clock, now, offers }, from, chunk.hi, chunk.count);
    return {
      chunk,
      plan,
      capped: offers.some((o) => o.remaining !== undefined),
      planMs: performance.now() - started,
    };
  };
  // The next chunk is planned while this one is written — unless an offer has a send cap: then its
  // plan needs this chunk's messages counted first. (The frequency cap counts only messages sent or
  // being sent, which this run's writes are not.)
  let ahead: Promise<Planned | undefined> | undefined;
  try {
    for (;;) {
      const status = await db
        .selectFrom('campaigns')
        .select('status')
        .where('id', '=', campaign.id)
        .executeTakeFirstOrThrow();
      if (status.status === 'cancelled') {
        await inFlight;
        await ahead?.catch(() => undefined);
        await finishRun(db, runId, options.owner, 'cancelled');
        return 'cancelled';
      }
      const t0 = performance.now();
      const planned = await (ahead ?? planFrom(lo));
      ahead = undefined;
      if (!planned) break;
      const { chunk, plan } = planned;
      const t1 = performance.now();
      if (!planned.capped) {
        ahead = planFrom(chunk.hi);
        // failures surface when it is awaited; until then it must not count as unhandled
        ahead.catch(() => undefined);
      }
      funnel = addFunnel(funnel, plan.funnel);
      const written = await writeChunk(
        db,
        runRef,
        options.owner,
        lo,
        chunk.hi,
        plan,
        funnel,
        options.leaseMs,
      );
      const t2 = performance.now();
      await inFlight;
      const t3 = performance.now();
      const through = chunk.hi;
      inFlight = enqueue(deps.sendQueues, written).then(() => {
        log.debug(
          {
            through,
            messages: written.reduce((n, g) => n + g.ids.length, 0),
            exclusions: plan.exclusions.length,
            planMs: Math.round(planned.planMs),
            waitedForPlanMs: Math.round(t1 - t0),
            writeMs: Math.round(t2 - t1),
            waitedForEnqueueMs: Math.round(t3 - t2),
            enqueueMs: Math.round(performance.now() - t3),
          },
          'chunk done',
        );
        return markEnqueued(db, runId, through);
      });

      lo = chunk.hi;
      options.onChunk?.({ runId, checkpoint: lo, funnel });
    }
    await inFlight;
  } catch (err) {
    await inFlight.catch(() => undefined);
    await ahead?.catch(() => undefined);
    throw err;
  }
  await finishRun(db, runId, options.owner, 'completed');
  log.info({ funnel }, 'campaign run completed');
  if (run.trigger !== 'test') await settleCampaigns(db, campaign.id);
  return 'completed';
}
