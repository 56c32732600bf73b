import type { Queryable } from '../db/database.js';

/**
 * Hand-off: the moment a claimed message's provider call starts (N13: the re-check stays just before
 * it). Two rules keep "indeterminate" honest (docs/delivery.md, "Hand-off and leases"):
 *
 * - A worker claims only what its sender can start at once (HandoffSlots), so a claimed message does
 *   not wait inside an SMTP pool or an HTTP agent while a withdrawal commits.
 * - Before any provider call of a claim batch starts, the worker writes the batch's mark
 *   (`send_handoffs`, 'started'); the reconciler writes 'released' under the same key when a lease
 *   runs out. The primary key decides which came first: a started batch's messages may have reached
 *   the provider (indeterminate, never sent again); a released batch's certainly did not (back to
 *   `queued`, sent again), and its worker, whose mark now conflicts, sends none of them.
 */

const MARK_STATEMENT = {
  name: 'consentcast_handoff_0017',
  text: `INSERT INTO send_handoffs (claim_batch, kind) VALUES ($1, 'started')
    ON CONFLICT (claim_batch) DO NOTHING RETURNING claim_batch`,
} as const;

/** Marks a claim batch as handed off. False: the reconciler released it first; send nothing of it. */
export async function markHandoff(db: Queryable, batch: number): Promise<boolean> {
  const { rows } = await db.query<{ claim_batch: number }>({ ...MARK_STATEMENT, values: [batch] });
  return rows.length === 1;
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
 * Deletes hand-off marks older than a day whose batch has no message left `sending`: a mark is only
 * needed while the reconciler may still have to settle its messages.
 */
export async function pruneHandoffs(db: Queryable): Promise<number> {
  const { rowCount } = await db.query(
    `DELETE FROM send_handoffs h WHERE h.at < now() - interval '1 day'
       AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.claim_batch = h.claim_batch AND m.status = 'sending')`,
  );
  return rowCount ?? 0;
}

/**
 * A counting semaphore for the sender's hand-off capacity. Written here because it is a dozen lines
 * with no policy in it; each waiter is served in arrival order.
 */
export class HandoffSlots {
  #free: number;
  readonly #waiting: (() => void)[] = [];

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError('capacity must be a positive integer');
    this.#free = capacity;
  }

  /** Resolves when a slot is this caller's; call the returned function exactly once to give it back. */
  async acquire(): Promise<() => void> {
    if (this.#free > 0) this.#free -= 1;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      if (next !== undefined) next();
      else this.#free += 1;
    };
  }

  /** Slots in use now. */
  get inUse(): number {
    return this.capacity - this.#free;
  }
}
