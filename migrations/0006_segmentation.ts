import { type Kysely, sql } from 'kysely';

// Frozen in time: never imports application code.
//
// Helpers for compiled audience rules. A rule may compare a date held in a person's attributes
// (activity windows, e.g. last purchase); attributes are free JSON, so the cast must never fail a
// whole segmentation query on one malformed value.

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE FUNCTION consentcast_try_date(t text) RETURNS date LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
    BEGIN
      IF t IS NULL OR t !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' THEN
        RETURN NULL;
      END IF;
      RETURN t::date;
    EXCEPTION WHEN others THEN
      RETURN NULL;
    END $$
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP FUNCTION consentcast_try_date(text)`.execute(db);
}
