import { sql } from 'kysely';
import { audit } from '../audit/audit.js';
import { keyedHash } from '../crypto/pseudonym.js';
import type { Db } from '../db/database.js';
import { lockClientNumber } from '../recipients/recipients.repository.js';
import {
  auditBase,
  type DsrOperationContext,
  lockLivePerson,
  requestRef,
  withdrawAllForRequest,
} from './operation-context.js';

/** How much of each kind was removed (counts only: the audit log and the register keep these). */
export interface ErasureCounts {
  readonly withdrawn: number;
  readonly devices: number;
  readonly messages: number;
  readonly message_events: number;
  readonly run_exclusions: number;
  readonly list_memberships: number;
  readonly idempotency_keys: number;
}

/**
 * Idempotency scopes that name the person (src/consent/consent.routes.ts): their stored responses
 * and request hashes describe the person's consents, so they go with the person. A retry after the
 * erasure finds no person (404) before it could look for its key.
 */
const PERSON_IDEMPOTENCY_SCOPES = ['consents', 'lapses'] as const;

/**
 * Erasure (N14), in the caller's transaction, all or nothing:
 * - every grant in force is withdrawn in the ledger (reason `erasure`), so the evidence shows when and
 *   why processing ended;
 * - devices, messages with their events (delivery, opens, clicks), run exclusions, list memberships
 *   and stored idempotent responses about the person are deleted;
 * - every personal column of the person is cleared and `erased_at` set (the row stays as the empty
 *   surrogate the consent evidence refers to; the database's CHECK holds it empty);
 * - a tombstone keyed by a hash of the client number refuses a silent re-import.
 * Kept: consent events and current consent states (no direct identifiers) until their retention date
 * (N11), suppressions (keyed hashes), the register entry and the audit log (surrogate id only).
 */
export async function erasePerson(
  trx: Db,
  ctx: DsrOperationContext,
  recipientId: number,
): Promise<ErasureCounts> {
  // Same order as upsertRecipient (client-number lock, then the row), so the two cannot deadlock.
  const unlocked = await trx
    .selectFrom('recipients')
    .select('client_number')
    .where('id', '=', recipientId)
    .executeTakeFirst();
  if (unlocked?.client_number) await lockClientNumber(trx, ctx.pseudonymSecret, unlocked.client_number);
  const person = await lockLivePerson(trx, recipientId);
  const now = new Date();
  const withdrawn = await withdrawAllForRequest(trx, ctx, recipientId, 'erasure');

  const messageEvents = await trx
    .deleteFrom('message_events')
    .where('message_id', 'in', (eb) =>
      eb.selectFrom('messages').select('id').where('recipient_id', '=', recipientId),
    )
    .executeTakeFirst();
  const messages = await trx
    .deleteFrom('messages')
    .where('recipient_id', '=', recipientId)
    .executeTakeFirst();
  const devices = await trx.deleteFrom('devices').where('recipient_id', '=', recipientId).executeTakeFirst();
  const exclusions = await trx
    .deleteFrom('run_exclusions')
    .where('recipient_id', '=', recipientId)
    .executeTakeFirst();
  const memberships = await trx
    .deleteFrom('audience_list_members')
    .where('recipient_id', '=', recipientId)
    .executeTakeFirst();
  const idempotency = await trx
    .deleteFrom('idempotency_keys')
    .where((eb) =>
      eb.or(
        PERSON_IDEMPOTENCY_SCOPES.map((scope) =>
          // `<scope>:<actor>:<recipient id>`; the id is anchored at the end, the actor may hold anything.
          eb('scope', 'like', `${scope}:%:${recipientId}`),
        ),
      ),
    )
    .executeTakeFirst();

  await trx
    .updateTable('recipients')
    .set({
      client_number: null,
      first_name: null,
      last_name: null,
      email: null,
      email_hash: null,
      phone: null,
      phone_hash: null,
      birth_date: null,
      personal_code: null,
      attributes: '{}',
      // Not identifiers, but they describe the person: back to the defaults every row starts with.
      locale: sql<'lv'>`DEFAULT`,
      time_zone: sql<string>`DEFAULT`,
      erased_at: now,
      updated_at: now,
    })
    .where('id', '=', recipientId)
    .execute();

  if (person.client_number !== null) {
    await trx
      .insertInto('erasure_tombstones')
      .values({
        client_number_hash: keyedHash(ctx.pseudonymSecret, 'client_number', person.client_number),
        recipient_id: recipientId,
        erased_at: now,
        dsr_request_id: ctx.dsrRequestId ?? null,
      })
      .execute();
  }

  const counts: ErasureCounts = {
    withdrawn: withdrawn.length,
    devices: Number(devices.numDeletedRows),
    messages: Number(messages.numDeletedRows),
    message_events: Number(messageEvents.numDeletedRows),
    run_exclusions: Number(exclusions.numDeletedRows),
    list_memberships: Number(memberships.numDeletedRows),
    idempotency_keys: Number(idempotency.numDeletedRows),
  };
  await audit(trx, {
    ...auditBase(ctx, recipientId),
    action: 'dsr.erase',
    details: { ...requestRef(ctx), ...counts },
  });
  return counts;
}
