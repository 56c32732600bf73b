import type { Actor } from '../auth/actor.js';
import { endAllGrants } from '../consent/ledger.js';
import type { Db } from '../db/database.js';
import type { JsonValue } from '../db/schema.js';
import { ConflictError } from '../errors/conflict-error.js';
import { NotFoundError } from '../errors/not-found-error.js';

/** What every data-subject operation needs besides the database: who does it, why, and for which request. */
export interface DsrOperationContext {
  /** Key of the keyed hashes (consent evidence, erasure tombstone). */
  readonly pseudonymSecret: string;
  readonly actor: Actor;
  /** Why, for the audit log: the operator's words or the request's reference. Never personal data. */
  readonly reason: string;
  /** The register entry the operation answers, when there is one. */
  readonly dsrRequestId?: number;
  /** The HTTP request id or CLI run id, for the audit log and the consent evidence. */
  readonly requestId?: string;
}

/** The audit fields every operation repeats. */
export function auditBase(ctx: DsrOperationContext, recipientId: number) {
  return {
    actor: ctx.actor,
    subjectType: 'recipient',
    subjectId: recipientId,
    recipientId,
    reason: ctx.reason,
    ...(ctx.requestId !== undefined ? { requestId: ctx.requestId } : {}),
  };
}

export function requestRef(ctx: DsrOperationContext): Record<string, JsonValue> {
  return ctx.dsrRequestId === undefined ? {} : { dsr_request_id: ctx.dsrRequestId };
}

/**
 * The person's row, locked until the transaction ends so that an operation never races another one
 * (or a consent change) on the same person. An erased person has nothing left to operate on.
 */
export async function lockLivePerson(trx: Db, recipientId: number) {
  const row = await trx
    .selectFrom('recipients')
    .selectAll()
    .where('id', '=', recipientId)
    .forUpdate()
    .executeTakeFirst();
  if (!row) throw new NotFoundError('recipient');
  if (row.erased_at !== null) {
    throw new ConflictError(
      "this person's data was erased; there is nothing left to act on",
      'recipient_erased',
    );
  }
  return row;
}

export type LivePerson = Awaited<ReturnType<typeof lockLivePerson>>;

/** Withdraws every live grant of the person for a data-subject operation (objection, erasure). */
export function withdrawAllForRequest(
  trx: Db,
  ctx: DsrOperationContext,
  recipientId: number,
  reason: string,
) {
  // now, by the database's clock: a data-subject operation takes effect when it runs
  return endAllGrants(trx, ctx.pseudonymSecret, {
    recipientId,
    action: 'withdraw',
    source: 'operator',
    actor: ctx.actor,
    evidence: ctx.requestId === undefined ? {} : { requestId: ctx.requestId },
    reason,
  });
}
