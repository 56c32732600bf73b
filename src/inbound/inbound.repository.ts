import type { Db } from '../db/database.js';

/**
 * The reads and writes of the inbound doors that no other feature shares: bounce reports (bounces.ts)
 * and SMS keywords (sms-inbound.ts). Message events are in events.ts, SMS status in sms-status.ts.
 */

/** An e-mail message by id; undefined when there is none or it went out on another channel. */
export async function findEmailMessage(db: Db, messageId: number) {
  return db
    .selectFrom('messages')
    .select(['id', 'recipient_id', 'channel'])
    .where('id', '=', messageId)
    .where('channel', '=', 'email')
    .executeTakeFirst();
}

/** A person not erased, by id, with the keyed hash of their address. */
export async function findLiveRecipientById(db: Db, recipientId: number) {
  return db
    .selectFrom('recipients')
    .select(['id', 'email_hash'])
    .where('id', '=', recipientId)
    .where('erased_at', 'is', null)
    .executeTakeFirst();
}

/** The first person not erased with this (normalised) e-mail address, with its keyed hash. */
export async function findLiveRecipientByEmail(db: Db, email: string) {
  return db
    .selectFrom('recipients')
    .select(['id', 'email_hash'])
    .where('email', '=', email)
    .where('erased_at', 'is', null)
    .orderBy('id')
    .executeTakeFirst();
}

/** Suppresses an e-mail address (by its keyed hash); suppressing it again changes nothing. */
export async function suppressEmail(
  db: Db,
  addressHash: string,
  reason: 'hard_bounce' | 'complaint',
  source: string,
): Promise<void> {
  await db
    .insertInto('suppressions')
    .values({ channel: 'email', address_hash: addressHash, reason, source })
    .onConflict((oc) => oc.columns(['channel', 'address_hash']).doNothing())
    .execute();
}

/** The ids of the people not erased who have this (E.164) phone number, in id order. */
export async function liveRecipientIdsByPhone(db: Db, phone: string): Promise<number[]> {
  const rows = await db
    .selectFrom('recipients')
    .select('id')
    .where('phone', '=', phone)
    .where('erased_at', 'is', null)
    .orderBy('id')
    .execute();
  return rows.map((r) => r.id);
}

/** The id of the last SMS sent to the person, if any. */
export async function lastSentSmsId(db: Db, recipientId: number): Promise<number | undefined> {
  const row = await db
    .selectFrom('messages')
    .select('id')
    .where('recipient_id', '=', recipientId)
    .where('channel', '=', 'sms')
    .where('status', '=', 'sent')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row?.id;
}

/**
 * The purposes whose SMS consent an SMS keyword withdrew (the deciding event is a `sms_keyword`
 * withdrawal), in purpose order, their consent rows locked for the caller's transaction.
 */
export async function smsKeywordWithdrawals(db: Db, recipientId: number) {
  return db
    .selectFrom('consents')
    .select('purpose')
    .where('recipient_id', '=', recipientId)
    .where('channel', '=', 'sms')
    .where('status', '=', 'withdrawn')
    .where('source', '=', 'sms_keyword')
    .orderBy('purpose')
    .forUpdate()
    .execute();
}
