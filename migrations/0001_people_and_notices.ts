import { type Kysely, sql } from 'kysely';

// Frozen in time: this file never imports application code. Enums are CHECKs so that adding a
// value later is a plain ALTER, and the app role never owns anything it could weaken.

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    DO $$ BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'consentcast_app') THEN
        CREATE ROLE consentcast_app NOLOGIN;
      END IF;
    END $$;
  `.execute(db);
  await sql`GRANT USAGE ON SCHEMA public TO consentcast_app`.execute(db);

  // Shared guards. An append-only table rejects UPDATE, DELETE and TRUNCATE for everyone; the one
  // exception (retention of consent evidence, N11) is made in 0002 through a SECURITY DEFINER function.
  await sql`
    CREATE FUNCTION consentcast_forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
    END $$;
  `.execute(db);
  await sql`
    CREATE FUNCTION consentcast_is_time_zone(tz text) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE AS $$
    BEGIN
      PERFORM now() AT TIME ZONE tz;
      RETURN true;
    EXCEPTION WHEN invalid_parameter_value THEN
      RETURN false;
    END $$;
  `.execute(db);

  await sql`
    CREATE TABLE notices (
      version text PRIMARY KEY CHECK (version ~ '^[A-Za-z0-9._-]{1,32}$'),
      locale text NOT NULL CHECK (locale IN ('lv', 'en', 'ru')),
      effective_from timestamptz NOT NULL,
      body text NOT NULL CHECK (length(body) > 0),
      text_sha256 text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT notices_hash_matches_body CHECK (text_sha256 = encode(sha256(convert_to(body, 'UTF8')), 'hex'))
    )
  `.execute(db);
  // A notice shown to people is evidence: it never changes.
  await sql`
    CREATE TRIGGER notices_append_only BEFORE UPDATE OR DELETE ON notices
      FOR EACH ROW EXECUTE FUNCTION consentcast_forbid_change()
  `.execute(db);
  await sql`
    CREATE TRIGGER notices_no_truncate BEFORE TRUNCATE ON notices
      FOR EACH STATEMENT EXECUTE FUNCTION consentcast_forbid_change()
  `.execute(db);

  // N5/N6: the only personal fields the marketing store holds. An erased person keeps an empty shell
  // row (the surrogate id that consent evidence refers to) and nothing else.
  await sql`
    CREATE TABLE recipients (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      client_number text UNIQUE CHECK (client_number ~ '^[A-Za-z0-9_-]{1,64}$'),
      first_name text,
      last_name text,
      email text CHECK (email ~ '^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$'),
      phone text CHECK (phone ~ '^\\+[1-9][0-9]{6,14}$'),
      locale text NOT NULL DEFAULT 'lv' CHECK (locale IN ('lv', 'en', 'ru')),
      time_zone text NOT NULL DEFAULT 'Europe/Riga' CHECK (consentcast_is_time_zone(time_zone)),
      birth_date date,
      personal_code text,
      attributes jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(attributes) = 'object'),
      restricted_at timestamptz,
      objected_at timestamptz,
      profiling_objected_at timestamptz,
      erased_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT recipients_live_have_client_number CHECK (erased_at IS NOT NULL OR client_number IS NOT NULL),
      CONSTRAINT recipients_erased_are_empty CHECK (
        erased_at IS NULL OR (
          client_number IS NULL AND first_name IS NULL AND last_name IS NULL AND email IS NULL
          AND phone IS NULL AND birth_date IS NULL AND personal_code IS NULL AND attributes = '{}'::jsonb
        )
      )
    )
  `.execute(db);
  await sql`CREATE INDEX recipients_email ON recipients (email) WHERE email IS NOT NULL`.execute(db);
  await sql`CREATE INDEX recipients_phone ON recipients (phone) WHERE phone IS NOT NULL`.execute(db);

  await sql`
    CREATE TABLE devices (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      recipient_id bigint NOT NULL REFERENCES recipients (id) ON DELETE CASCADE,
      token text NOT NULL UNIQUE CHECK (length(token) BETWEEN 8 AND 4096),
      platform text NOT NULL CHECK (platform IN ('android', 'ios', 'web')),
      registered_at timestamptz NOT NULL DEFAULT now(),
      last_seen_at timestamptz NOT NULL DEFAULT now(),
      invalidated_at timestamptz,
      invalid_reason text CHECK (invalid_reason IN ('unregistered', 'invalid_argument', 'unregistered_by_app')),
      CONSTRAINT devices_invalid_has_reason CHECK ((invalidated_at IS NULL) = (invalid_reason IS NULL))
    )
  `.execute(db);
  await sql`CREATE INDEX devices_live_by_recipient ON devices (recipient_id) WHERE invalidated_at IS NULL`.execute(
    db,
  );

  // After erasure (N14) only a keyed hash of the client number remains, so that a later import of the
  // same person is reported instead of silently re-creating them.
  await sql`
    CREATE TABLE erasure_tombstones (
      client_number_hash text PRIMARY KEY CHECK (client_number_hash ~ '^[0-9a-f]{64}$'),
      recipient_id bigint NOT NULL UNIQUE REFERENCES recipients (id),
      erased_at timestamptz NOT NULL DEFAULT now(),
      dsr_request_id bigint
    )
  `.execute(db);

  await sql`
    CREATE TABLE audience_lists (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      name text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
      description text,
      created_by text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )
  `.execute(db);
  await sql`
    CREATE TABLE audience_list_members (
      list_id bigint NOT NULL REFERENCES audience_lists (id) ON DELETE CASCADE,
      recipient_id bigint NOT NULL REFERENCES recipients (id) ON DELETE CASCADE,
      added_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (list_id, recipient_id)
    )
  `.execute(db);
  await sql`CREATE INDEX audience_list_members_by_recipient ON audience_list_members (recipient_id)`.execute(
    db,
  );

  await sql`GRANT SELECT, INSERT ON notices TO consentcast_app`.execute(db);
  await sql`
    GRANT SELECT, INSERT, UPDATE, DELETE ON recipients, devices, erasure_tombstones, audience_lists,
      audience_list_members TO consentcast_app
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of [
    'audience_list_members',
    'audience_lists',
    'erasure_tombstones',
    'devices',
    'recipients',
    'notices',
  ]) {
    await sql`DROP TABLE ${sql.table(table)}`.execute(db);
  }
  await sql`DROP FUNCTION consentcast_is_time_zone(text)`.execute(db);
  await sql`DROP FUNCTION consentcast_forbid_change()`.execute(db);
  await sql`REVOKE USAGE ON SCHEMA public FROM consentcast_app`.execute(db);
  // The role itself is cluster-wide and may serve other databases: it stays.
}
