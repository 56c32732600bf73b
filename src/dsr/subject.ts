import { keyedHash } from '../crypto/pseudonym.js';
import type { Db } from '../db/database.js';

/**
 * The surrogate id of the person with this client number, live or erased: after an erasure the
 * tombstone still leads from the client number to the id that the consent evidence and the audit log
 * carry, so the data-protection officer can still answer "what happened to this person's data".
 */
export async function findSubjectId(
  db: Db,
  pseudonymSecret: string,
  clientNumber: string,
): Promise<{ recipientId: number; erased: boolean } | undefined> {
  const live = await db
    .selectFrom('recipients')
    .select('id')
    .where('client_number', '=', clientNumber)
    .executeTakeFirst();
  if (live) return { recipientId: live.id, erased: false };
  const tombstone = await db
    .selectFrom('erasure_tombstones')
    .select('recipient_id')
    .where('client_number_hash', '=', keyedHash(pseudonymSecret, 'client_number', clientNumber))
    .executeTakeFirst();
  return tombstone && { recipientId: tombstone.recipient_id, erased: true };
}
