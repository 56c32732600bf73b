import type { Db } from '../db/database.js';
import type { Channel } from '../domain/vocabulary.js';

/** 'all', or one channel. */
export type StopScope = 'all' | Channel;

export interface OpenStop {
  readonly scope: StopScope;
  readonly stopped_at: Date;
  readonly stopped_by: string;
  readonly reason: string | null;
}

/** The open stops, from PostgreSQL alone (no Redis): for `/metrics`, `/readyz` and reports. */
export async function openStops(db: Db): Promise<OpenStop[]> {
  const rows = await db
    .selectFrom('emergency_stops')
    .select(['channel', 'stopped_at', 'stopped_by', 'reason'])
    .where('resumed_at', 'is', null)
    .orderBy('stopped_at')
    .execute();
  return rows.map((r) => ({
    scope: r.channel ?? 'all',
    stopped_at: r.stopped_at,
    stopped_by: r.stopped_by,
    reason: r.reason,
  }));
}

/** Whether an open stop covers the channel. */
export function covers(stops: readonly OpenStop[], channel: Channel): boolean {
  return stops.some((s) => s.scope === 'all' || s.scope === channel);
}
