import { type Kysely, sql } from 'kysely';

// Frozen in time: never imports application code.
//
// 1. Keyed hashes of a person's e-mail and phone, written by the application with the same key as
//    suppressions, so that segmentation and the workers' claim can exclude suppressed addresses in
//    set-based SQL without the key ever reaching the database.
// 2. Quiet hours in the person's own time zone (N15), shared by the campaign runner (which delays
//    the job) and the workers' claim (which re-checks just before sending).

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE recipients
      ADD COLUMN email_hash text CHECK (email_hash ~ '^[0-9a-f]{64}$'),
      ADD COLUMN phone_hash text CHECK (phone_hash ~ '^[0-9a-f]{64}$'),
      ADD CONSTRAINT recipients_email_hash_with_email CHECK ((email IS NULL) = (email_hash IS NULL)),
      ADD CONSTRAINT recipients_phone_hash_with_phone CHECK ((phone IS NULL) = (phone_hash IS NULL))
  `.execute(db);

  // One index serves both "a person's messages" (erasure, export, explain) and "was this offer sent
  // to this person recently" (matching): each index costs on every outbox insert.
  await sql`DROP INDEX messages_by_recipient`.execute(db);
  await sql`DROP INDEX messages_by_offer_recipient`.execute(db);
  await sql`CREATE INDEX messages_by_recipient_offer ON messages (recipient_id, offer_id)`.execute(db);

  // NULL when the local time at `at` is outside quiet hours; otherwise the instant they end.
  await sql`
    CREATE FUNCTION consentcast_quiet_until(tz text, start_minute integer, end_minute integer, at timestamptz)
    RETURNS timestamptz LANGUAGE sql STABLE PARALLEL SAFE AS $$
      WITH l AS (
        SELECT (at AT TIME ZONE tz) AS local,
               (extract(hour FROM at AT TIME ZONE tz) * 60 + extract(minute FROM at AT TIME ZONE tz))::integer AS m
      )
      SELECT CASE
        WHEN start_minute IS NULL OR end_minute IS NULL OR start_minute = end_minute THEN NULL
        WHEN start_minute < end_minute AND m >= start_minute AND m < end_minute
          THEN (date_trunc('day', local) + make_interval(mins => end_minute)) AT TIME ZONE tz
        WHEN start_minute > end_minute AND m >= start_minute
          THEN (date_trunc('day', local) + interval '1 day' + make_interval(mins => end_minute)) AT TIME ZONE tz
        WHEN start_minute > end_minute AND m < end_minute
          THEN (date_trunc('day', local) + make_interval(mins => end_minute)) AT TIME ZONE tz
        ELSE NULL
      END
      FROM l
    $$
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP FUNCTION consentcast_quiet_until(text, integer, integer, timestamptz)`.execute(db);
  await sql`DROP INDEX messages_by_recipient_offer`.execute(db);
  await sql`CREATE INDEX messages_by_offer_recipient ON messages (offer_id, recipient_id)`.execute(db);
  await sql`CREATE INDEX messages_by_recipient ON messages (recipient_id)`.execute(db);

  await sql`
    ALTER TABLE recipients
      DROP CONSTRAINT recipients_phone_hash_with_phone,
      DROP CONSTRAINT recipients_email_hash_with_email,
      DROP COLUMN phone_hash,
      DROP COLUMN email_hash
  `.execute(db);
}
