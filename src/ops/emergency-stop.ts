import { sql } from 'kysely';
import { audit } from '../audit/audit.js';
import type { Actor } from '../auth/actor.js';
import type { Deps } from '../deps.js';
import { CHANNELS, type Channel } from '../domain/vocabulary.js';
import { SEND_QUEUES } from '../queue/names.js';
import { queueOf } from '../queue/queues.js';
import { covers, type OpenStop, openStops, type StopScope } from './stops.repository.js';

export type { OpenStop, StopScope };

/**
 * Emergency stop (ops), of every channel or of one. The stop is an order of commits, not a race: it
 * locks its scope's row in `send_stop_scopes` (every claim holds the rows of its channel's scopes FOR
 * SHARE, migration 0017), records itself with the time it held that lock, and names itself on the
 * row. A claim committed before that lock was taken may send; every claim after it sees the stop and
 * leaves its message `queued` (src/delivery/claim.ts). Nothing in Redis can release a send during a
 * stop: pausing the BullMQ queues only spares the workers from picking up jobs they would defer, and
 * resuming a queue from the queue board sends nothing. Nothing is lost: messages stay queued and go
 * out after resume. Stops and resumes are audited.
 */

export interface EmergencyState {
  /** True while any stop is open (all channels or one). */
  readonly stopped: boolean;
  /** The stop of all channels, when one is open (else the earliest open one). */
  readonly stopped_at: Date | null;
  readonly stopped_by: string | null;
  readonly reason: string | null;
  /** Every open stop, oldest first. */
  readonly stops: OpenStop[];
  /** Per channel: whether an open stop covers it (claims refuse). */
  readonly channels_stopped: Record<Channel, boolean>;
  /** What BullMQ says per channel queue (true: paused). */
  readonly queues_paused: Record<Channel, boolean>;
}

function channelsOf(scope: StopScope): readonly Channel[] {
  return scope === 'all' ? CHANNELS : [scope];
}

function perChannel(f: (c: Channel) => boolean): Record<Channel, boolean> {
  return { email: f('email'), sms: f('sms'), push: f('push') };
}

export async function emergencyState(deps: Deps): Promise<EmergencyState> {
  const stops = await openStops(deps.db);
  const paused = await Promise.all(CHANNELS.map((c) => queueOf(deps, SEND_QUEUES[c]).isPaused()));
  const main = stops.find((s) => s.scope === 'all') ?? stops[0];
  return {
    stopped: stops.length > 0,
    stopped_at: main?.stopped_at ?? null,
    stopped_by: main?.stopped_by ?? null,
    reason: main?.reason ?? null,
    stops,
    channels_stopped: perChannel((c) => covers(stops, c)),
    queues_paused: perChannel((c) => paused[CHANNELS.indexOf(c)] === true),
  };
}

/**
 * Stops sending on every channel (`scope` 'all') or one. A second stop of a scope already stopped
 * records nothing new. Returns once the stop is committed: from then on no claim of the scope's
 * channels succeeds, in any process.
 */
export async function emergencyStop(
  deps: Deps,
  actor: Actor,
  reason?: string,
  scope: StopScope = 'all',
): Promise<EmergencyState & { changed: boolean }> {
  const changed = await deps.db.transaction().execute(async (trx) => {
    // The scope's row, FOR UPDATE: waits for every claim holding it FOR SHARE to commit, and every
    // later claim waits for this commit and then sees the stop.
    const row = await sql<{ open_stop_id: number | null }>`
      SELECT open_stop_id FROM send_stop_scopes WHERE scope = ${scope} FOR UPDATE
    `.execute(trx);
    const open = row.rows[0]?.open_stop_id ?? null;
    let id: number | null = null;
    if (open === null) {
      const inserted = await trx
        .insertInto('emergency_stops')
        .values({
          stopped_by: actor.id,
          reason: reason ?? null,
          channel: scope === 'all' ? null : scope,
          // the clock once the lock is held: every claim decided before it committed before it
          stopped_at: sql<Date>`clock_timestamp()`,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      id = inserted.id;
      await trx
        .updateTable('send_stop_scopes')
        .set({ open_stop_id: id })
        .where('scope', '=', scope)
        .execute();
    }
    await audit(trx, {
      actor,
      action: 'ops.emergency_stop',
      subjectType: 'sending',
      ...(id !== null ? { subjectId: String(id) } : {}),
      ...(reason !== undefined ? { reason } : {}),
      details: { changed: id !== null, scope, channels: [...channelsOf(scope)] },
    });
    return id !== null;
  });
  // After the commit, and only to spare the workers jobs they would defer: the stop holds without it.
  await pauseQueues(deps, channelsOf(scope));
  deps.logger.info({ changed, scope }, 'emergency stop: sending stopped');
  return { ...(await emergencyState(deps)), changed };
}

/** Resumes sending in a scope. Queues are resumed for channels no other open stop still covers. */
export async function emergencyResume(
  deps: Deps,
  actor: Actor,
  reason?: string,
  scope: StopScope = 'all',
): Promise<EmergencyState & { changed: boolean }> {
  const changed = await deps.db.transaction().execute(async (trx) => {
    const row = await sql<{ open_stop_id: number | null }>`
      SELECT open_stop_id FROM send_stop_scopes WHERE scope = ${scope} FOR UPDATE
    `.execute(trx);
    const open = row.rows[0]?.open_stop_id ?? null;
    if (open !== null) {
      await trx
        .updateTable('send_stop_scopes')
        .set({ open_stop_id: null })
        .where('scope', '=', scope)
        .execute();
      await trx
        .updateTable('emergency_stops')
        .set({ resumed_at: sql<Date>`clock_timestamp()`, resumed_by: actor.id })
        .where('id', '=', open)
        .execute();
    }
    await audit(trx, {
      actor,
      action: 'ops.emergency_resume',
      subjectType: 'sending',
      ...(open !== null ? { subjectId: String(open) } : {}),
      ...(reason !== undefined ? { reason } : {}),
      details: { changed: open !== null, scope, channels: [...channelsOf(scope)] },
    });
    return open !== null;
  });
  const stops = await openStops(deps.db);
  const free = CHANNELS.filter((c) => !covers(stops, c));
  await Promise.all(free.map((c) => queueOf(deps, SEND_QUEUES[c]).resume()));
  deps.logger.info({ changed, scope }, 'emergency stop lifted');
  return { ...(await emergencyState(deps)), changed };
}

async function pauseQueues(deps: Deps, channels: readonly Channel[]): Promise<void> {
  await Promise.all(channels.map((c) => queueOf(deps, SEND_QUEUES[c]).pause()));
}

/**
 * If a stop is open in PostgreSQL but a covered queue runs (Redis lost the pause, or someone resumed
 * it from the queue board), pause it again. Sends stay stopped either way (the claim refuses); this
 * only keeps the workers from cycling jobs they would defer. Returns whether it paused any.
 */
export async function reapplyEmergencyStop(deps: Deps): Promise<boolean> {
  const state = await emergencyState(deps);
  const running = CHANNELS.filter((c) => state.channels_stopped[c] && !state.queues_paused[c]);
  if (running.length === 0) return false;
  await pauseQueues(deps, running);
  deps.logger.warn(
    { channels: running },
    'emergency stop is open but send queues were running: paused them again',
  );
  return true;
}
