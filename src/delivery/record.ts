import type { Db, Queryable } from '../db/database.js';

/**
 * Recording what a send did, group-committed across concurrent jobs like the claim. The transition
 * is conditional: only a message this worker holds (`sending`, or `indeterminate` because the
 * reconciler gave up on its lease meanwhile — the worker's news is better) changes.
 */
export type Outcome =
  | { readonly kind: 'sent'; readonly providerId: string }
  /** The provider certainly did not accept it: back to `queued` for BullMQ's retry, or `failed` on the last attempt. */
  | { readonly kind: 'retry'; readonly code: string; readonly detail: string; readonly lastAttempt: boolean }
  /** It may have been accepted: never sent again (N13: never twice). */
  | { readonly kind: 'indeterminate'; readonly code: string; readonly detail: string }
  | {
      readonly kind: 'failed';
      readonly code: string;
      readonly detail: string;
      /** hard bounce / invalid number: the address is suppressed (a keyed hash, kept after erasure). */
      readonly suppress?: 'hard_bounce' | 'invalid_number';
    };

export interface Recorded {
  readonly id: number;
  readonly outcome: Outcome;
  readonly status: 'sent' | 'queued' | 'failed' | 'indeterminate';
}

function statusOf(o: Outcome): Recorded['status'] {
  if (o.kind === 'sent') return 'sent';
  if (o.kind === 'retry') return o.lastAttempt ? 'failed' : 'queued';
  return o.kind;
}

/** The record, as a named statement (see Queryable in db/database.ts). */
const RECORD_STATEMENT = {
  name: 'consentcast_record_0016',
  text: `SELECT message_id FROM consentcast_record($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])`,
} as const;

export async function recordOutcomes(
  db: Queryable,
  items: readonly { id: number; outcome: Outcome }[],
): Promise<(Recorded | undefined)[]> {
  if (items.length === 0) return [];
  const ids = items.map((i) => i.id);
  const statuses = items.map((i) => statusOf(i.outcome));
  const providerIds = items.map((i) =>
    i.outcome.kind === 'sent' ? i.outcome.providerId.slice(0, 500) : null,
  );
  const codes = items.map((i) => (i.outcome.kind === 'sent' ? null : i.outcome.code.slice(0, 100)));
  const details = items.map((i) => (i.outcome.kind === 'sent' ? null : i.outcome.detail.slice(0, 2000)));
  const suppress = items.map((i) => (i.outcome.kind === 'failed' ? (i.outcome.suppress ?? null) : null));
  // One call, so one round trip and atomic without a transaction: migration 0016's
  // consentcast_record makes the transition, its event, and the suppression a hard bounce or an
  // invalid number calls for (a keyed hash, N15) in one statement, planned once per session.
  const { rows: changed } = await db.query<{ message_id: number }>({
    ...RECORD_STATEMENT,
    values: [ids, statuses, providerIds, codes, details, suppress],
  });
  const recorded = new Set(changed.map((r) => Number(r.message_id)));
  return items.map((i) =>
    recorded.has(i.id) ? { id: i.id, outcome: i.outcome, status: statusOf(i.outcome) } : undefined,
  );
}

/** A dead push token (UNREGISTERED, INVALID_ARGUMENT) is never used again. */
export async function invalidateDevice(
  db: Db,
  token: string,
  reason: 'unregistered' | 'invalid_argument',
): Promise<void> {
  await db
    .updateTable('devices')
    .set({ invalidated_at: new Date(), invalid_reason: reason })
    .where('token', '=', token)
    .where('invalidated_at', 'is', null)
    .execute();
}
