import { type Kysely, sql } from 'kysely';

// Frozen in time: never imports application code.
//
// The operator's work list: indeterminate messages nobody has resolved yet (GET /v1/messages,
// `consentcast message list`). Few rows, so a partial index keeps the list cheap on a large outbox.

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE INDEX messages_open_indeterminate ON messages (id) WHERE status = 'indeterminate' AND resolution IS NULL
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX messages_open_indeterminate`.execute(db);
}
