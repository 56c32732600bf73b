import type { Queryable } from '../db/database.js';

/**
 * Hand-off: the moment a claimed message's provider call starts (N13: the re-check stays just before
 * it). Two rules keep "indeterminate" honest (docs/delivery.md, "Hand-off and leases"):
 *
 * - A worker claims only what its sender can start at once (HandoffSlots, and a short look-ahead
 *   while sends are quick: worker.ts), so a claimed message does not wait inside an SMTP pool or an
 *   HTTP agent while a withdrawal commits.
 * - Before a message's provider call starts, the worker writes its mark (`send_handoffs`, 'started',
 *   keyed by claim batch and message); the reconciler writes 'released' under the same key when the
 *   lease runs out. The primary key decides which came first: a started message may have reached the
 *   provider (indeterminate, never sent again); a released one certainly did not (back to `queued`,
 *   sent again), and its worker, whose mark now conflicts, does not send it.
 */

export interface HandoffKey {
  readonly batch: number;
  readonly messageId: number;
}

const MARK_STATEMENT = {
  name: 'consentcast_handoff_0017',
  text: `INSERT INTO send_handoffs (claim_batch, message_id, kind)
    SELECT b, m, 'started' FROM unnest($1::bigint[], $2::bigint[]) AS u(b, m)
    ON CONFLICT (claim_batch, message_id) DO NOTHING RETURNING message_id`,
} as const;

/**
 * Marks messages as handed off, in one statement. For each: true, or false when the reconciler
 * released it first (send nothing of it).
 */
export async function markHandoffs(db: Queryable, keys: readonly HandoffKey[]): Promise<boolean[]> {
  if (keys.length === 0) return [];
  const { rows } = await db.query<{ message_id: number }>({
    ...MARK_STATEMENT,
    values: [keys.map((k) => k.batch), keys.map((k) => k.messageId)],
  });
  const marked = new Set(rows.map((r) => Number(r.message_id)));
  return keys.map((k) => marked.has(k.messageId));
}

/** One message's mark (tests, tools). */
export async function markHandoff(db: Queryable, key: HandoffKey): Promise<boolean> {
  const [marked] = await markHandoffs(db, [key]);
  return marked === true;
}

const RENEW_STATEMENT = {
  name: 'consentcast_renew_0017',
  text: `UPDATE messages SET lease_expires_at = now() + make_interval(secs => $2::int)
    WHERE id = ANY ($1::bigint[]) AND (status = 'sending') IS TRUE`,
} as const;

/** Extends the leases of messages whose sends are still in flight in this live worker. */
export async function renewLeases(
  db: Queryable,
  ids: readonly number[],
  leaseSeconds: number,
): Promise<void> {
  if (ids.length === 0) return;
  await db.query({ ...RENEW_STATEMENT, values: [ids, leaseSeconds] });
}

/**
 * Deletes hand-off marks older than a day whose message is no longer `sending` (a mark is only needed
 * while the reconciler may still settle its message), at most `limit` per call.
 */
export async function pruneHandoffs(db: Queryable, limit = 10_000): Promise<number> {
  const { rowCount } = await db.query(
    `DELETE FROM send_handoffs WHERE (claim_batch, message_id) IN (
       SELECT h.claim_batch, h.message_id FROM send_handoffs h
       WHERE h.at < now() - interval '1 day'
         AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.id = h.message_id AND m.status = 'sending')
       LIMIT $1)`,
    [limit],
  );
  return rowCount ?? 0;
}

/**
 * A counting gate whose limit may change (the look-ahead follows the send pace): at most `limit()`
 * holders at once, waiters served in arrival order. Written here because it is a few lines with no
 * policy of its own, and the libraries we looked at fix the limit at construction.
 */
export class Gate {
  #held = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(readonly limit: () => number) {}

  /** Resolves when a place is this caller's; call the returned function once to give it back. */
  async acquire(): Promise<() => void> {
    if (this.#waiting.length === 0 && this.#held < this.limit()) this.#held += 1;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#held -= 1;
      this.#wake();
    };
  }

  #wake(): void {
    while (this.#waiting.length > 0 && this.#held < this.limit()) {
      this.#held += 1;
      this.#waiting.shift()?.();
    }
  }

  /** Places held now. */
  get held(): number {
    return this.#held;
  }
}
