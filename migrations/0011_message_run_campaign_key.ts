import { type Kysely, sql } from 'kysely';

// Frozen in time: never imports application code.
//
// A message's run and campaign are checked by one composite foreign key to campaign_runs (id,
// campaign_id) instead of two single-column keys. PostgreSQL checks a foreign key per inserted row
// (about 8 µs of server CPU each, measured in docs/benchmarks.md), and the outbox takes a row per
// message of every run: one check fewer per message. The guarantee is stronger, not weaker: the
// campaign must now be the run's own campaign, and it exists because campaign_runs.campaign_id
// references campaigns.

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE campaign_runs ADD CONSTRAINT campaign_runs_id_campaign_key UNIQUE (id, campaign_id)`.execute(
    db,
  );
  await sql`
    ALTER TABLE messages
      DROP CONSTRAINT messages_run_id_fkey,
      DROP CONSTRAINT messages_campaign_id_fkey,
      ADD CONSTRAINT messages_run_campaign_fkey FOREIGN KEY (run_id, campaign_id) REFERENCES campaign_runs (id, campaign_id)
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE messages
      DROP CONSTRAINT messages_run_campaign_fkey,
      ADD CONSTRAINT messages_run_id_fkey FOREIGN KEY (run_id) REFERENCES campaign_runs (id),
      ADD CONSTRAINT messages_campaign_id_fkey FOREIGN KEY (campaign_id) REFERENCES campaigns (id)
  `.execute(db);
  await sql`ALTER TABLE campaign_runs DROP CONSTRAINT campaign_runs_id_campaign_key`.execute(db);
}
