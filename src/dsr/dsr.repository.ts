import type { Db } from '../db/database.js';
import { NotFoundError } from '../errors/not-found-error.js';
import type { DsrKind, DsrStatus, ReceivedVia } from './dsr.rules.js';

/** The register of data-subject requests (N14). Rows carry the surrogate person id, never identifiers. */

const COLUMNS = [
  'dsr_requests.id',
  'dsr_requests.recipient_id',
  'dsr_requests.kind',
  'dsr_requests.received_via',
  'dsr_requests.received_at',
  'dsr_requests.due_at',
  'dsr_requests.identity_checked_by',
  'dsr_requests.identity_checked_at',
  'dsr_requests.status',
  'dsr_requests.outcome',
  'dsr_requests.handled_by',
  'dsr_requests.completed_at',
  'dsr_requests.created_at',
] as const;

function withPerson(db: Db) {
  return db
    .selectFrom('dsr_requests')
    .leftJoin('recipients', 'recipients.id', 'dsr_requests.recipient_id')
    .select(COLUMNS)
    .select('recipients.client_number');
}

export type DsrRequestRow = NonNullable<Awaited<ReturnType<typeof findDsrRequest>>>;

export async function insertDsrRequest(
  db: Db,
  input: { recipientId: number; kind: DsrKind; receivedVia: ReceivedVia; receivedAt: Date; dueAt: Date },
): Promise<number> {
  const row = await db
    .insertInto('dsr_requests')
    .values({
      recipient_id: input.recipientId,
      kind: input.kind,
      received_via: input.receivedVia,
      received_at: input.receivedAt,
      due_at: input.dueAt,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export async function findDsrRequest(db: Db, id: number) {
  return withPerson(db).where('dsr_requests.id', '=', id).executeTakeFirst();
}

/** The request, locked for the rest of the transaction so that two operators cannot act on it at once. */
export async function lockDsrRequest(trx: Db, id: number) {
  const locked = await trx
    .selectFrom('dsr_requests')
    .select(['id'])
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst();
  if (!locked) throw new NotFoundError('data-subject request');
  const row = await findDsrRequest(trx, id);
  if (!row) throw new NotFoundError('data-subject request');
  return row;
}

export async function requireDsrRequest(db: Db, id: number): Promise<DsrRequestRow> {
  const row = await findDsrRequest(db, id);
  if (!row) throw new NotFoundError('data-subject request');
  return row;
}

/** Open requests, the most urgent first. */
export async function listOpenDsrRequests(db: Db, limit: number) {
  return withPerson(db)
    .where('dsr_requests.status', 'in', ['received', 'in_progress'])
    .orderBy('dsr_requests.due_at')
    .orderBy('dsr_requests.id')
    .limit(limit)
    .execute();
}

export async function recordIdentityCheck(
  trx: Db,
  id: number,
  input: { checkedBy: string; checkedAt: Date; status: DsrStatus },
): Promise<void> {
  await trx
    .updateTable('dsr_requests')
    .set({
      identity_checked_by: input.checkedBy,
      identity_checked_at: input.checkedAt,
      status: input.status,
    })
    .where('id', '=', id)
    .execute();
}

export async function closeDsrRequest(
  trx: Db,
  id: number,
  input: { status: 'completed' | 'rejected'; outcome: string; handledBy: string },
): Promise<void> {
  await trx
    .updateTable('dsr_requests')
    .set({
      status: input.status,
      outcome: input.outcome,
      handled_by: input.handledBy,
      completed_at: new Date(),
    })
    .where('id', '=', id)
    .execute();
}
