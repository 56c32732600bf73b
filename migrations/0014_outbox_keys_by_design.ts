import { type Kysely, sql } from 'kysely';

// Frozen in time: never imports application code.
//
// The outbox and the exclusion log take a row per person and channel of every run (a million-person
// run writes ~1.1 million messages and ~1.9 million exclusions), and PostgreSQL checks a foreign key
// with one query per inserted row and key: ~70 % of the write's server CPU (docs/benchmarks.md,
// campaign-fanout). Four of those keys guard parents that are never deleted: people (erasure clears a
// person's columns and keeps the row as the surrogate the consent evidence refers to, and deletes the
// person's messages and exclusions itself), offers (retired by status) and runs. The keys go; what
// they guarded is now held where it cannot be bypassed: deleting a person, an offer or a run is
// refused for every role by a trigger (DELETE and TRUNCATE) (and by missing privilege for the application role). The one
// key the outbox keeps, message → (run, campaign), is the one that ties a message to its own
// campaign. Why integrity still holds: docs/data-model.md.

const PARENTS = ['recipients', 'offers', 'campaign_runs'] as const;

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE run_exclusions
      DROP CONSTRAINT run_exclusions_run_id_fkey,
      DROP CONSTRAINT run_exclusions_recipient_id_fkey
  `.execute(db);
  await sql`
    ALTER TABLE messages
      DROP CONSTRAINT messages_recipient_id_fkey,
      DROP CONSTRAINT messages_offer_id_fkey
  `.execute(db);
  await sql`
    CREATE FUNCTION consentcast_forbid_delete() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION '% rows are never deleted (outbox and exclusion rows refer to them): % is not allowed',
        TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
    END $$;
  `.execute(db);
  for (const table of PARENTS) {
    await sql`REVOKE DELETE ON ${sql.table(table)} FROM consentcast_app`.execute(db);
    // A statement trigger: it refuses the statement even when it would match no row.
    await sql`
      CREATE TRIGGER ${sql.id(`${table}_never_deleted`)} BEFORE DELETE OR TRUNCATE ON ${sql.table(table)}
        FOR EACH STATEMENT EXECUTE FUNCTION consentcast_forbid_delete()
    `.execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of PARENTS) {
    await sql`DROP TRIGGER ${sql.id(`${table}_never_deleted`)} ON ${sql.table(table)}`.execute(db);
    await sql`GRANT DELETE ON ${sql.table(table)} TO consentcast_app`.execute(db);
  }
  await sql`DROP FUNCTION consentcast_forbid_delete()`.execute(db);
  await sql`
    ALTER TABLE messages
      ADD CONSTRAINT messages_recipient_id_fkey FOREIGN KEY (recipient_id) REFERENCES recipients (id),
      ADD CONSTRAINT messages_offer_id_fkey FOREIGN KEY (offer_id) REFERENCES offers (id)
  `.execute(db);
  await sql`
    ALTER TABLE run_exclusions
      ADD CONSTRAINT run_exclusions_run_id_fkey FOREIGN KEY (run_id) REFERENCES campaign_runs (id) ON DELETE CASCADE,
      ADD CONSTRAINT run_exclusions_recipient_id_fkey FOREIGN KEY (recipient_id) REFERENCES recipients (id) ON DELETE CASCADE
  `.execute(db);
}
