import { sql } from 'kysely';
import { audit } from '../audit/audit.js';
import type { Actor } from '../auth/actor.js';
import type { Db } from '../db/database.js';

export interface RetentionResult {
  /** Consent events past their retention date that were deleted. */
  readonly deleted: number;
  /** Idempotency records older than the replay window that were deleted. */
  readonly idempotencyKeysDeleted: number;
}

/**
 * The retention job (N11): consent evidence is kept until five years after the withdrawal or lapse
 * that ended it, and deleted then — by the database's own SECURITY DEFINER function, which decides
 * what is past its date from the ledger itself and refuses anything else. Grants in force stay.
 */
export async function runRetention(
  db: Db,
  actor: Actor,
  options: { idempotencyDays?: number } = {},
): Promise<RetentionResult> {
  return db.transaction().execute(async (trx) => {
    const { rows } = await sql<{
      deleted: number;
    }>`SELECT consentcast_purge_consent_events() AS deleted`.execute(trx);
    const deleted = Number(rows[0]?.deleted ?? 0);
    const days = options.idempotencyDays ?? 30;
    const keys = await trx
      .deleteFrom('idempotency_keys')
      .where('created_at', '<', sql<Date>`now() - make_interval(days => ${days})`)
      .executeTakeFirst();
    const idempotencyKeysDeleted = Number(keys.numDeletedRows);
    await audit(trx, {
      actor,
      action: 'retention.run',
      subjectType: 'consent_events',
      details: { deleted, idempotency_keys_deleted: idempotencyKeysDeleted },
    });
    return { deleted, idempotencyKeysDeleted };
  });
}
