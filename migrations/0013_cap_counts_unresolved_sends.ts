import { type Kysely, sql } from 'kysely';

// Frozen in time: never imports application code.
//
// N15: a message that may have reached the person counts towards their frequency cap and the offer's
// resend window — sent or being sent, and also `indeterminate` unless an operator resolved it as not
// sent (the provider may well have delivered it). The cap index follows that predicate.

const MAY_HAVE_REACHED = `(status IN ('sending', 'sent') OR (status = 'indeterminate' AND resolution IS DISTINCT FROM 'not_sent'))`;

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX messages_cap_window`.execute(db);
  await sql`
    CREATE INDEX messages_cap_window ON messages (recipient_id, claimed_at) WHERE ${sql.raw(MAY_HAVE_REACHED)}
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX messages_cap_window`.execute(db);
  await sql`
    CREATE INDEX messages_cap_window ON messages (recipient_id, claimed_at) WHERE status IN ('sending', 'sent')
  `.execute(db);
}
