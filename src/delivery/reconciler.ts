import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import type { Channel } from '../domain/vocabulary.js';
import { sendJob, sendJobId } from '../queue/send-jobs.js';

export interface ReconcileResult {
  /**
   * Messages left `sending` past their lease whose provider call had started (their hand-off mark
   * was written): the provider may have them, so they are reported, never sent again.
   */
  readonly indeterminate: number;
  /**
   * Messages left `sending` past their lease whose provider call had not started: back to `queued`
   * and enqueued again, so they are sent.
   */
  readonly released: number;
  /**
   * `queued` messages their run had enqueued whose job Redis no longer had (Redis lost its data):
   * enqueued again.
   */
  readonly reenqueued: number;
}

/** Adds the send jobs of `queued` messages, one addBulk per channel. */
async function enqueueSends(
  queues: Readonly<Record<Channel, Queue>>,
  messages: readonly { id: number; channel: Channel; not_before: Date | null }[],
): Promise<void> {
  const byChannel = new Map<Channel, ReturnType<typeof sendJob>[]>();
  for (const m of messages) {
    const list = byChannel.get(m.channel) ?? [];
    list.push(sendJob(m.channel, m.id, m.not_before));
    byChannel.set(m.channel, list);
  }
  for (const [channel, jobs] of byChannel) await queues[channel].addBulk(jobs);
}

export interface SettleResult {
  readonly indeterminate: number;
  readonly released: number;
}

/**
 * Settles the messages whose worker stopped renewing their lease (it died or hung). For each of them
 * the reconciler writes 'released' into `send_handoffs`; the primary key orders that with the
 * worker's own 'started' mark (src/delivery/handoff.ts). Where the worker's mark came first
 * the provider call had started: `indeterminate`. Otherwise the message returns to `queued` (its
 * claim undone), its job is added again, and the worker, should it wake, finds its mark refused.
 */
export async function settleExpiredLeases(
  db: Db,
  queues: Readonly<Record<Channel, Queue>>,
): Promise<SettleResult> {
  const { rows } = await sql<{ id: number; channel: Channel; status: string; not_before: Date | null }>`
    WITH expired AS (
      SELECT m.id, m.claim_batch FROM messages m
      WHERE m.status = 'sending' AND m.lease_expires_at < now()
      ORDER BY m.id
      FOR UPDATE SKIP LOCKED
    ),
    released AS (
      INSERT INTO send_handoffs (claim_batch, message_id, kind)
      SELECT e.claim_batch, e.id, 'released' FROM expired e WHERE e.claim_batch IS NOT NULL
      ON CONFLICT (claim_batch, message_id) DO NOTHING
      RETURNING message_id
    ),
    settled AS (
      UPDATE messages m SET
        status = CASE WHEN r.message_id IS NULL THEN 'indeterminate' ELSE 'queued' END,
        lease_expires_at = NULL,
        finished_at = CASE WHEN r.message_id IS NULL THEN now() END,
        attempts = CASE WHEN r.message_id IS NULL THEN m.attempts ELSE greatest(m.attempts - 1, 0) END,
        claimed_at = CASE WHEN r.message_id IS NULL THEN m.claimed_at END,
        claim_batch = CASE WHEN r.message_id IS NULL THEN m.claim_batch END,
        error_code = CASE WHEN r.message_id IS NULL THEN 'lease_expired' ELSE m.error_code END,
        error_detail = CASE WHEN r.message_id IS NULL
          THEN 'the worker stopped after the provider call had started and before recording it; the provider may have the message'
          ELSE m.error_detail END
      FROM expired e LEFT JOIN released r ON r.message_id = e.id
      WHERE m.id = e.id
      RETURNING m.id, m.channel, m.status, m.not_before
    ),
    events AS (
      INSERT INTO message_events (message_id, type, provider_event_id)
      SELECT s.id, 'indeterminate', 'reconciler' FROM settled s WHERE s.status = 'indeterminate'
      ON CONFLICT DO NOTHING
    )
    SELECT id, channel, status, not_before FROM settled
  `.execute(db);
  const back = rows.filter((r) => r.status === 'queued');
  // A job of the same id still in Redis (the dead worker's, waiting to be found stalled) keeps its
  // place: BullMQ adds a job id once. Whichever job runs finds the message `queued` and claims it.
  await enqueueSends(queues, back);
  return { indeterminate: rows.length - back.length, released: back.length };
}

/**
 * The reconciler (maintenance role). Never re-sends what may have reached a provider: a message whose
 * provider call had started when its worker died becomes `indeterminate` and is reported for an
 * operator to resolve. Messages that certainly never left (`queued`, or claimed but not handed off)
 * are enqueued again.
 */
export async function reconcile(
  db: Db,
  redis: Redis,
  queues: Readonly<Record<Channel, Queue>>,
  options: { queuePrefix: string; graceSeconds: number; batch: number },
): Promise<ReconcileResult> {
  const settled = await settleExpiredLeases(db, queues);
  return { ...settled, reenqueued: await reenqueueLostJobs(db, redis, queues, options) };
}

/** Enqueues again the `queued` messages (enqueued by their run) whose job Redis no longer has. */
export async function reenqueueLostJobs(
  db: Db,
  redis: Redis,
  queues: Readonly<Record<Channel, Queue>>,
  options: { queuePrefix: string; graceSeconds: number; batch: number },
): Promise<number> {
  let reenqueued = 0;
  let after = 0;
  for (;;) {
    const queued = await db
      .selectFrom('messages')
      .select(['id', 'channel', 'not_before'])
      .where('status', '=', 'queued')
      .where('id', '>', after)
      .where('created_at', '<', sql<Date>`now() - make_interval(secs => ${options.graceSeconds}::int)`)
      // Only messages their run has already enqueued (or whose run has ended): a chunk the runner has
      // written but not yet enqueued is the runner's to enqueue (on resume too), not a lost job.
      .where(({ exists, selectFrom }) =>
        exists(
          selectFrom('campaign_runs as r')
            .select(sql`1`.as('one'))
            .whereRef('r.id', '=', 'messages.run_id')
            .where((eb) =>
              eb.or([
                eb('r.enqueued_through_recipient_id', '>=', eb.ref('messages.recipient_id')),
                eb('r.status', 'in', ['completed', 'failed', 'cancelled']),
              ]),
            ),
        ),
      )
      .orderBy('id')
      .limit(options.batch)
      .execute();
    if (queued.length === 0) break;
    after = queued[queued.length - 1]?.id ?? after;
    const pipeline = redis.pipeline();
    for (const m of queued) pipeline.exists(`${options.queuePrefix}:send-${m.channel}:${sendJobId(m.id)}`);
    const exists = (await pipeline.exec()) ?? [];
    const missing = queued.filter((_, i) => exists[i]?.[1] !== 1);
    await enqueueSends(queues, missing);
    reenqueued += missing.length;
  }
  return reenqueued;
}
