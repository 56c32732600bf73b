import { sql } from 'kysely';
import type { Db } from '../db/database.js';

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

export async function recordOutcomes(
  db: Db,
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
  // One statement, so one round trip and atomic without a transaction: the transition, its event,
  // and the suppression a hard bounce or an invalid number calls for (a keyed hash, N15).
  const { rows: changed } = await sql<{ id: number }>`
    WITH u AS (
      UPDATE messages m SET
        status = u.status,
        provider_message_id = COALESCE(u.provider_id, m.provider_message_id),
        error_code = u.code,
        error_detail = u.detail,
        sent_at = CASE WHEN u.status = 'sent' THEN now() ELSE m.sent_at END,
        finished_at = CASE WHEN u.status = 'queued' THEN NULL ELSE now() END,
        claimed_at = CASE WHEN u.status = 'queued' THEN NULL ELSE m.claimed_at END,
        lease_expires_at = NULL
      FROM unnest(${ids}::bigint[], ${statuses}::text[], ${providerIds}::text[], ${codes}::text[], ${details}::text[],
                  ${suppress}::text[])
           AS u(id, status, provider_id, code, detail, suppress)
      -- The ids drive the join (a primary-key look-up each). The status test is written so that no
      -- index on status can drive it instead: with statistics taken while the outbox was all
      -- \`queued\`, the planner expected no \`sending\` rows and compared every in-flight message
      -- with every id of the batch (a nested loop, O(in flight x batch): most of a record's time).
      WHERE m.id = u.id AND (m.status IN ('sending', 'indeterminate')) IS TRUE AND m.resolution IS NULL
      RETURNING m.id, m.recipient_id, m.channel, m.status, u.suppress
    ),
    events AS (
      INSERT INTO message_events (message_id, type, provider_event_id)
      SELECT id, status, 'worker' FROM u WHERE status <> 'queued'
      ON CONFLICT DO NOTHING
    ),
    suppressed AS (
      INSERT INTO suppressions (channel, address_hash, reason, source)
      SELECT DISTINCT u.channel, CASE u.channel WHEN 'email' THEN r.email_hash ELSE r.phone_hash END, u.suppress, 'provider'
      FROM u JOIN recipients r ON r.id = u.recipient_id
      WHERE u.suppress IS NOT NULL AND CASE u.channel WHEN 'email' THEN r.email_hash ELSE r.phone_hash END IS NOT NULL
      ON CONFLICT DO NOTHING
    )
    SELECT id FROM u
  `.execute(db);
  const byId = new Map(changed.map((r) => [Number(r.id), r]));
  return items.map((i) => {
    const row = byId.get(i.id);
    return row ? { id: i.id, outcome: i.outcome, status: statusOf(i.outcome) } : undefined;
  });
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
