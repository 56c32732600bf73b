import { sql } from 'kysely';
import { keyedHash } from '../crypto/pseudonym.js';
import type { Db } from '../db/database.js';
import { ConflictError } from '../errors/conflict-error.js';
import { NotFoundError } from '../errors/not-found-error.js';
import type { RecipientFields } from './recipient-input.js';

export interface RecipientRef {
  readonly id: number;
  readonly clientNumber: string;
}

/**
 * The columns to write for validated fields — the one place that keeps `email_hash` / `phone_hash`
 * (keyed like suppressions, so a suppressed address is found in set-based SQL) in step with the
 * address and number. Every write of a person's contact goes through here.
 */
export function recipientColumns(fields: RecipientFields, pseudonymSecret: string) {
  const { attributes, ...rest } = fields;
  return {
    ...rest,
    ...(attributes !== undefined ? { attributes: JSON.stringify(attributes) } : {}),
    ...(fields.email !== undefined
      ? { email_hash: fields.email === null ? null : keyedHash(pseudonymSecret, 'email', fields.email) }
      : {}),
    ...(fields.phone !== undefined
      ? { phone_hash: fields.phone === null ? null : keyedHash(pseudonymSecret, 'phone', fields.phone) }
      : {}),
  };
}

/**
 * Serialises everything that creates or erases the person behind one client number for the rest of
 * the transaction, so a re-create cannot slip in between an erasure's check and its tombstone.
 */
export async function lockClientNumber(
  trx: Db,
  pseudonymSecret: string,
  clientNumber: string,
): Promise<void> {
  const key = keyedHash(pseudonymSecret, 'client_number', clientNumber).slice(0, 15);
  await sql`SELECT pg_advisory_xact_lock(${BigInt(`0x${key}`).toString()}::bigint)`.execute(trx);
}

/** Whether this client number belongs to someone who was erased (N14): they are not re-created silently. */
export async function isErasedClientNumber(
  db: Db,
  pseudonymSecret: string,
  clientNumber: string,
): Promise<boolean> {
  const row = await db
    .selectFrom('erasure_tombstones')
    .select('recipient_id')
    .where('client_number_hash', '=', keyedHash(pseudonymSecret, 'client_number', clientNumber))
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * Creates the person, or updates the given fields of an existing one. Returns which fields changed
 * (names only: the audit log records that a field changed, never its value).
 */
export async function upsertRecipient(
  db: Db,
  pseudonymSecret: string,
  clientNumber: string,
  fields: RecipientFields,
): Promise<{ id: number; created: boolean; changed: string[] }> {
  await lockClientNumber(db, pseudonymSecret, clientNumber);
  if (await isErasedClientNumber(db, pseudonymSecret, clientNumber)) {
    throw new ConflictError(
      'this client number belongs to a person whose data was erased; a new record needs a new data-subject decision',
      'recipient_erased',
    );
  }
  const row = recipientColumns(fields, pseudonymSecret);
  const inserted = await db
    .insertInto('recipients')
    .values({ client_number: clientNumber, ...row })
    .onConflict((oc) => oc.column('client_number').doNothing())
    .returning('id')
    .executeTakeFirst();
  if (inserted) return { id: inserted.id, created: true, changed: Object.keys(fields) };
  const changed = Object.keys(fields);
  const updated = await db
    .updateTable('recipients')
    .set({ ...row, updated_at: new Date() })
    .where('client_number', '=', clientNumber)
    .returning('id')
    .executeTakeFirstOrThrow();
  return { id: updated.id, created: false, changed };
}

export async function findRecipient(db: Db, clientNumber: string) {
  return db
    .selectFrom('recipients')
    .selectAll()
    .where('client_number', '=', clientNumber)
    .where('erased_at', 'is', null)
    .executeTakeFirst();
}

export async function requireRecipient(db: Db, clientNumber: string) {
  const row = await findRecipient(db, clientNumber);
  if (!row) throw new NotFoundError('recipient');
  return row;
}

export type RecipientRow = NonNullable<Awaited<ReturnType<typeof findRecipient>>>;
