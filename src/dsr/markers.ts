import { audit } from '../audit/audit.js';
import type { Db } from '../db/database.js';
import {
  auditBase,
  type DsrOperationContext,
  lockLivePerson,
  requestRef,
  withdrawAllForRequest,
} from './operation-context.js';

/**
 * Restriction and objections (N9, N14): markers on the person that the consent decision, the
 * segmentation SQL and the workers' claim read. Setting a marker that is already set keeps its first
 * date. Call inside a transaction.
 */

export interface MarkerResult {
  /** false when the person was already in the asked-for state */
  readonly changed: boolean;
}

/** Blocks all selection and sending to the person, whatever their consents say (N14). */
export async function restrictProcessing(
  trx: Db,
  ctx: DsrOperationContext,
  recipientId: number,
): Promise<MarkerResult> {
  const person = await lockLivePerson(trx, recipientId);
  const changed = person.restricted_at === null;
  if (changed) {
    await trx
      .updateTable('recipients')
      .set({ restricted_at: new Date(), updated_at: new Date() })
      .where('id', '=', recipientId)
      .execute();
  }
  await audit(trx, {
    ...auditBase(ctx, recipientId),
    action: 'dsr.restrict',
    details: { ...requestRef(ctx), changed },
  });
  return { changed };
}

/** Ends a restriction: the person's consents apply again. */
export async function liftRestriction(
  trx: Db,
  ctx: DsrOperationContext,
  recipientId: number,
): Promise<MarkerResult> {
  const person = await lockLivePerson(trx, recipientId);
  const changed = person.restricted_at !== null;
  if (changed) {
    await trx
      .updateTable('recipients')
      .set({ restricted_at: null, updated_at: new Date() })
      .where('id', '=', recipientId)
      .execute();
  }
  await audit(trx, {
    ...auditBase(ctx, recipientId),
    action: 'dsr.lift_restriction',
    details: { ...requestRef(ctx), changed },
  });
  return { changed };
}

/**
 * Objection to direct marketing: every grant in force is withdrawn in the ledger (source `operator`,
 * reason `objection`) and the marker blocks all sending, so a later grant through some other door
 * does not silently resume marketing.
 */
export async function objectToMarketing(
  trx: Db,
  ctx: DsrOperationContext,
  recipientId: number,
): Promise<MarkerResult & { withdrawn: number }> {
  const person = await lockLivePerson(trx, recipientId);
  const now = new Date();
  const withdrawn = await withdrawAllForRequest(trx, ctx, recipientId, 'objection');
  const changed = person.objected_at === null;
  if (changed) {
    await trx
      .updateTable('recipients')
      .set({ objected_at: now, updated_at: now })
      .where('id', '=', recipientId)
      .execute();
  }
  await audit(trx, {
    ...auditBase(ctx, recipientId),
    action: 'dsr.object_marketing',
    details: { ...requestRef(ctx), changed, withdrawn: withdrawn.length },
  });
  return { changed, withdrawn: withdrawn.length };
}

/**
 * Objection to profiling (N9): offer matching stops personalising for the person; consents stay as
 * they are, so consented sending continues with non-personalised offers.
 */
export async function objectToProfiling(
  trx: Db,
  ctx: DsrOperationContext,
  recipientId: number,
): Promise<MarkerResult> {
  const person = await lockLivePerson(trx, recipientId);
  const changed = person.profiling_objected_at === null;
  if (changed) {
    await trx
      .updateTable('recipients')
      .set({ profiling_objected_at: new Date(), updated_at: new Date() })
      .where('id', '=', recipientId)
      .execute();
  }
  await audit(trx, {
    ...auditBase(ctx, recipientId),
    action: 'dsr.object_profiling',
    details: { ...requestRef(ctx), changed },
  });
  return { changed };
}
