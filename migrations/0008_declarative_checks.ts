import { type Kysely, sql } from 'kysely';

// Frozen in time: never imports application code.
//
// The same guarantees as 0001/0002/0007, checked declaratively instead of per row in PL/pgSQL, so that
// writing a person or a consent event costs a few microseconds of checks instead of tens (measured in
// docs/import.md):
//
// 1. The time zone of a person is a row of `time_zones` (the names PostgreSQL's time zone database
//    knows, materialised here), referenced by a foreign key. The CHECK it replaces called a PL/pgSQL
//    function with an exception block: a subtransaction per row written.
// 2. Hex digests and bounded names are checked with length() plus an unbounded pattern: PostgreSQL's
//    regex engine expands a bounded repetition such as `{64}` into that many states, which took 7-15 µs
//    per value (translate() was no better); `length(x) = 64 AND x ~ '^[0-9a-f]+$'` takes under 2.
//    Same accepted values, same constraint names.
// 3. consent_events loses its per-row BEFORE INSERT trigger (N11, N13):
//    - recorded_at is the column default now(); the application role may insert every column but
//      recorded_at and retain_until (column privileges), so it cannot backdate the recording;
//    - retain_until (5 years after a withdrawal or lapse) is a generated column;
//    - a grant's notice hash must be the hash of the notice's text: a composite foreign key to
//      notices (version, text_sha256);
//    - an event may not lie more than 5 minutes after its recording (clock skew): a CHECK.
//    UPDATE, DELETE and TRUNCATE stay refused by the triggers of 0002, for the owner too.
// 4. The application role's TEMPORARY privilege on the database (the import's staging tables) is
//    granted explicitly instead of relying on PostgreSQL's default grant to PUBLIC.

const HEX64 = (column: string) => `length(${column}) = 64 AND ${column} ~ '^[0-9a-f]+$'`;

/** [table, constraint, new CHECK expression]: each replaces the regex CHECK of the same name. */
const CHECKS: readonly (readonly [string, string, string])[] = [
  [
    'recipients',
    'recipients_client_number_check',
    "length(client_number) BETWEEN 1 AND 64 AND client_number ~ '^[A-Za-z0-9_-]+$'",
  ],
  ['recipients', 'recipients_phone_check', "length(phone) BETWEEN 8 AND 16 AND phone ~ '^\\+[1-9][0-9]+$'"],
  ['recipients', 'recipients_email_hash_check', HEX64('email_hash')],
  ['recipients', 'recipients_phone_hash_check', HEX64('phone_hash')],
  ['erasure_tombstones', 'erasure_tombstones_client_number_hash_check', HEX64('client_number_hash')],
  ['consent_events', 'consent_events_actor_hash_check', HEX64('actor_hash')],
  ['consent_events', 'consent_events_notice_sha256_check', HEX64('notice_sha256')],
  ['consent_events', 'consent_events_ip_hash_check', HEX64('ip_hash')],
  ['consent_events', 'consent_events_user_agent_hash_check', HEX64('user_agent_hash')],
  [
    'consent_events',
    'consent_events_reason_check',
    "length(reason) BETWEEN 1 AND 64 AND reason ~ '^[a-z_]+$'",
  ],
  ['idempotency_keys', 'idempotency_keys_request_hash_check', HEX64('request_hash')],
];

const OLD_CHECKS: Readonly<Record<string, string>> = {
  recipients_client_number_check: "client_number ~ '^[A-Za-z0-9_-]{1,64}$'",
  recipients_phone_check: "phone ~ '^\\+[1-9][0-9]{6,14}$'",
  recipients_email_hash_check: "email_hash ~ '^[0-9a-f]{64}$'",
  recipients_phone_hash_check: "phone_hash ~ '^[0-9a-f]{64}$'",
  erasure_tombstones_client_number_hash_check: "client_number_hash ~ '^[0-9a-f]{64}$'",
  consent_events_actor_hash_check: "actor_hash ~ '^[0-9a-f]{64}$'",
  consent_events_notice_sha256_check: "notice_sha256 ~ '^[0-9a-f]{64}$'",
  consent_events_ip_hash_check: "ip_hash ~ '^[0-9a-f]{64}$'",
  consent_events_user_agent_hash_check: "user_agent_hash ~ '^[0-9a-f]{64}$'",
  consent_events_reason_check: "reason ~ '^[a-z_]{1,64}$'",
  idempotency_keys_request_hash_check: "request_hash ~ '^[0-9a-f]{64}$'",
};

/** Columns the application role may give when appending evidence (not id, recorded_at, retain_until). */
const EVENT_COLUMNS =
  'recipient_id, purpose, channel, action, source, actor_hash, notice_version, notice_sha256, request_id, ' +
  'ip_hash, user_agent_hash, reason, occurred_at';

export async function up(db: Kysely<unknown>): Promise<void> {
  // 1. Time zones.
  await sql`
    CREATE TABLE time_zones (
      name text PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 64)
    )
  `.execute(db);
  // Every name the server's time zone database knows, and every zone already in use (the old CHECK
  // also accepted abbreviations and other spellings PostgreSQL understands; people keep theirs).
  await sql`
    INSERT INTO time_zones (name)
    SELECT name FROM pg_timezone_names
    UNION
    SELECT DISTINCT time_zone FROM recipients
  `.execute(db);
  await sql`GRANT SELECT ON time_zones TO consentcast_app`.execute(db);
  await sql`ALTER TABLE recipients DROP CONSTRAINT recipients_time_zone_check`.execute(db);
  await sql`
    ALTER TABLE recipients ADD CONSTRAINT recipients_time_zone_fkey
      FOREIGN KEY (time_zone) REFERENCES time_zones (name)
  `.execute(db);
  // consentcast_is_time_zone stays: campaigns.schedule_time_zone (written once per campaign) uses it.

  // 2. Cheaper, equivalent CHECKs.
  for (const [table, name, check] of CHECKS) {
    await sql
      .raw(`ALTER TABLE ${table} DROP CONSTRAINT ${name}, ADD CONSTRAINT ${name} CHECK (${check})`)
      .execute(db);
  }

  // 3. The ledger without its per-row trigger.
  await sql`DROP TRIGGER consent_events_stamp ON consent_events`.execute(db);
  await sql`DROP FUNCTION consentcast_consent_event_stamp()`.execute(db);
  // A generated column cannot replace a plain one in place; the values are the same by construction
  // (the trigger computed the same expression), so the evidence does not change.
  await sql`ALTER TABLE consent_events DROP COLUMN retain_until`.execute(db);
  await sql`
    ALTER TABLE consent_events ADD COLUMN retain_until timestamptz GENERATED ALWAYS AS (
      CASE WHEN action IN ('withdraw', 'lapse')
        THEN (occurred_at AT TIME ZONE 'UTC' + interval '5 years') AT TIME ZONE 'UTC'
      END
    ) STORED
  `.execute(db);
  await sql`
    CREATE INDEX consent_events_by_retention ON consent_events (retain_until) WHERE retain_until IS NOT NULL
  `.execute(db);
  await sql`
    ALTER TABLE consent_events
      ADD CONSTRAINT consent_events_not_in_future CHECK (occurred_at <= recorded_at + interval '5 minutes'),
      ADD CONSTRAINT consent_events_notice_has_hash CHECK (notice_version IS NULL OR notice_sha256 IS NOT NULL)
  `.execute(db);
  await sql`ALTER TABLE notices ADD CONSTRAINT notices_version_text UNIQUE (version, text_sha256)`.execute(
    db,
  );
  await sql`
    ALTER TABLE consent_events
      DROP CONSTRAINT consent_events_notice_version_fkey,
      ADD CONSTRAINT consent_events_notice_text_fkey
        FOREIGN KEY (notice_version, notice_sha256) REFERENCES notices (version, text_sha256)
  `.execute(db);
  await sql`REVOKE INSERT ON consent_events FROM consentcast_app`.execute(db);
  await sql.raw(`GRANT INSERT (${EVENT_COLUMNS}) ON consent_events TO consentcast_app`).execute(db);

  // 4. TEMP tables for the import's staging.
  await sql`
    DO $$ BEGIN
      EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO consentcast_app', current_database());
    END $$
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    DO $$ BEGIN
      EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM consentcast_app', current_database());
    END $$
  `.execute(db);

  await sql.raw(`REVOKE INSERT (${EVENT_COLUMNS}) ON consent_events FROM consentcast_app`).execute(db);
  await sql`GRANT INSERT ON consent_events TO consentcast_app`.execute(db);
  await sql`
    ALTER TABLE consent_events
      DROP CONSTRAINT consent_events_notice_text_fkey,
      ADD CONSTRAINT consent_events_notice_version_fkey FOREIGN KEY (notice_version) REFERENCES notices (version)
  `.execute(db);
  await sql`ALTER TABLE notices DROP CONSTRAINT notices_version_text`.execute(db);
  await sql`
    ALTER TABLE consent_events DROP CONSTRAINT consent_events_not_in_future,
      DROP CONSTRAINT consent_events_notice_has_hash
  `.execute(db);
  // The generated column becomes a plain one with the same values; the trigger fills it again.
  await sql`ALTER TABLE consent_events ALTER COLUMN retain_until DROP EXPRESSION`.execute(db);
  await sql`
    CREATE FUNCTION consentcast_consent_event_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      expected text;
    BEGIN
      NEW.recorded_at := now();
      IF NEW.occurred_at > now() + interval '5 minutes' THEN
        RAISE EXCEPTION 'consent event occurred_at % is in the future', NEW.occurred_at
          USING ERRCODE = 'check_violation';
      END IF;
      IF NEW.action IN ('withdraw', 'lapse') THEN
        NEW.retain_until := (NEW.occurred_at AT TIME ZONE 'UTC' + interval '5 years') AT TIME ZONE 'UTC';
      ELSE
        NEW.retain_until := NULL;
      END IF;
      IF NEW.notice_version IS NOT NULL THEN
        SELECT text_sha256 INTO expected FROM notices WHERE version = NEW.notice_version;
        IF expected IS DISTINCT FROM NEW.notice_sha256 THEN
          RAISE EXCEPTION 'notice_sha256 does not match notice %', NEW.notice_version
            USING ERRCODE = 'check_violation';
        END IF;
      END IF;
      RETURN NEW;
    END $$
  `.execute(db);
  await sql`
    CREATE TRIGGER consent_events_stamp BEFORE INSERT ON consent_events
      FOR EACH ROW EXECUTE FUNCTION consentcast_consent_event_stamp()
  `.execute(db);

  for (const [table, name] of CHECKS) {
    await sql
      .raw(`ALTER TABLE ${table} DROP CONSTRAINT ${name}, ADD CONSTRAINT ${name} CHECK (${OLD_CHECKS[name]})`)
      .execute(db);
  }

  await sql`ALTER TABLE recipients DROP CONSTRAINT recipients_time_zone_fkey`.execute(db);
  await sql`
    ALTER TABLE recipients ADD CONSTRAINT recipients_time_zone_check CHECK (consentcast_is_time_zone(time_zone))
  `.execute(db);
  await sql`DROP TABLE time_zones`.execute(db);
}
