import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import type { Channel } from '../domain/vocabulary.js';
import { sendJob, sendJobId } from '../queue/send-jobs.js';

export interface ReconcileResult {
  /** Messages left `sending` past their lease: the worker died between send and record. */
  readonly indeterminate: number;
  /**
   * `queued` messages their run had enqueued whose job Redis no longer had (Redis lost its data):
   * enqueued again.
   */
  readonly reenqueued: number;
}

/**
 * The reconciler (maintenance role). Never re-sends: a message whose worker died after the
 * provider may have accepted it becomes `indeterminate` and is reported for an operator to resolve.
 * Only messages that were certainly never handed to a provider (`queued`) are enqueued again.
 */
export async function reconcile(
  db: Db,
  redis: Redis,
  queues: Readonly<Record<Channel, Queue>>,
  options: { queuePrefix: string; graceSeconds: number; batch: number },
): Promise<ReconcileResult> {
  const expired = await sql<{ id: number }>`
    WITH gone AS (
      UPDATE messages SET status = 'indeterminate', lease_expires_at = NULL, finished_at = now(),
             error_code = 'lease_expired', error_detail = 'the worker stopped between claiming and recording; the provider may have the message'
      WHERE status = 'sending' AND lease_expires_at < now()
      RETURNING id
    )
    INSERT INTO message_events (message_id, type, provider_event_id)
    SELECT id, 'indeterminate', 'reconciler' FROM gone
    ON CONFLICT DO NOTHING
    RETURNING message_id AS id
  `.execute(db);

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
    const byChannel = new Map<Channel, ReturnType<typeof sendJob>[]>();
    for (const m of missing) {
      const list = byChannel.get(m.channel) ?? [];
      list.push(sendJob(m.channel, m.id, m.not_before));
      byChannel.set(m.channel, list);
    }
    for (const [channel, jobs] of byChannel) await queues[channel].addBulk(jobs);
    reenqueued += missing.length;
  }
  return { indeterminate: expired.rows.length, reenqueued };
}
