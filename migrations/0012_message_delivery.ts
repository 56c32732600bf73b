import { type Kysely, sql } from 'kysely';

// Frozen in time: never imports application code.
//
// What the carrier said after the provider took a message (Twilio status callbacks, N8): a `sent`
// message is delivered when `delivered_at` is set; an undelivered or failed one moves to `failed`
// with the carrier's error code. Status stays `sent` for a delivered message, so that frequency caps,
// offer caps and resend rules, which count `sent`, count it as before.

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE messages
      ADD COLUMN delivered_at timestamptz,
      ADD CONSTRAINT messages_delivered_only_sent CHECK (delivered_at IS NULL OR status = 'sent')
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE messages DROP COLUMN delivered_at`.execute(db);
}
