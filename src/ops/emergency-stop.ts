import type { Queue } from 'bullmq';
import { sql } from 'kysely';
import { audit } from '../audit/audit.js';
import type { Actor } from '../auth/actor.js';
import type { Deps } from '../deps.js';
import { CHANNELS, type Channel } from '../domain/vocabulary.js';
import { SEND_QUEUES } from '../queue/names.js';

/**
 * Emergency stop (ops): one call pauses every send queue with BullMQ's global `Queue.pause()` — every
 * channel worker in every process stops taking jobs at once; jobs already in a worker's hands finish.
 * Nothing is lost: messages stay queued and their jobs wait. The stop is recorded in
 * `emergency_stops` (read back by `emergencyState`, re-applied by the scheduler role if Redis lost
 * it) and audited; one call resumes.
 */
export interface EmergencyState {
  readonly stopped: boolean;
  readonly stopped_at: Date | null;
  readonly stopped_by: string | null;
  readonly reason: string | null;
  /** What BullMQ says per channel queue (true: paused). */
  readonly queues_paused: Record<Channel, boolean>;
}

function sendQueues(deps: Deps): Queue[] {
  return CHANNELS.map((c) => {
    const q = deps.queues.get(SEND_QUEUES[c]);
    if (!q) throw new Error(`queue ${SEND_QUEUES[c]} is not built`);
    return q;
  });
}

export async function emergencyState(deps: Deps): Promise<EmergencyState> {
  const open = await deps.db
    .selectFrom('emergency_stops')
    .select(['stopped_at', 'stopped_by', 'reason'])
    .where('resumed_at', 'is', null)
    .executeTakeFirst();
  const paused = await Promise.all(sendQueues(deps).map((q) => q.isPaused()));
  return {
    stopped: open !== undefined,
    stopped_at: open?.stopped_at ?? null,
    stopped_by: open?.stopped_by ?? null,
    reason: open?.reason ?? null,
    queues_paused: Object.fromEntries(CHANNELS.map((c, i) => [c, paused[i] === true])) as Record<
      Channel,
      boolean
    >,
  };
}

/** Pauses all sending. A second stop while one is open changes nothing but pauses the queues again. */
export async function emergencyStop(
  deps: Deps,
  actor: Actor,
  reason?: string,
): Promise<EmergencyState & { changed: boolean }> {
  const changed = await deps.db.transaction().execute(async (trx) => {
    const inserted = await trx
      .insertInto('emergency_stops')
      .values({ stopped_by: actor.id, reason: reason ?? null })
      .onConflict((oc) => oc.expression(sql`(true)`).where('resumed_at', 'is', null).doNothing())
      .returning('id')
      .executeTakeFirst();
    await audit(trx, {
      actor,
      action: 'ops.emergency_stop',
      subjectType: 'sending',
      ...(reason !== undefined ? { reason } : {}),
      details: { changed: inserted !== undefined, channels: [...CHANNELS] },
    });
    // Inside the transaction: if Redis refuses, nothing is recorded and the caller sees the error.
    await Promise.all(sendQueues(deps).map((q) => q.pause()));
    return inserted !== undefined;
  });
  deps.logger.info({ changed }, 'emergency stop: all send queues paused');
  return { ...(await emergencyState(deps)), changed };
}

/** Resumes all sending (the queues are resumed even when no stop was recorded). */
export async function emergencyResume(
  deps: Deps,
  actor: Actor,
  reason?: string,
): Promise<EmergencyState & { changed: boolean }> {
  const changed = await deps.db.transaction().execute(async (trx) => {
    const closed = await trx
      .updateTable('emergency_stops')
      .set({ resumed_at: new Date(), resumed_by: actor.id })
      .where('resumed_at', 'is', null)
      .executeTakeFirst();
    const did = closed.numUpdatedRows > 0n;
    await audit(trx, {
      actor,
      action: 'ops.emergency_resume',
      subjectType: 'sending',
      ...(reason !== undefined ? { reason } : {}),
      details: { changed: did, channels: [...CHANNELS] },
    });
    await Promise.all(sendQueues(deps).map((q) => q.resume()));
    return did;
  });
  deps.logger.info({ changed }, 'emergency stop lifted: send queues resumed');
  return { ...(await emergencyState(deps)), changed };
}

/** If a stop is open in PostgreSQL but Redis lost the pause, pause again. Returns whether it did. */
export async function reapplyEmergencyStop(deps: Deps): Promise<boolean> {
  const state = await emergencyState(deps);
  if (!state.stopped || Object.values(state.queues_paused).every(Boolean)) return false;
  await Promise.all(sendQueues(deps).map((q) => q.pause()));
  deps.logger.warn('emergency stop is open but the send queues were running: paused them again');
  return true;
}
