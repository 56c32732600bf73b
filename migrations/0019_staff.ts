import { type Kysely, sql } from 'kysely';

// Frozen in time: never imports application code.
//
// Staff identity (issue 13, N16; docs/staff.md): people who sign in to the console as themselves.
// - `staff`: one row per person, with roles, a scrypt password hash (parameters and salt in the
//   string), a TOTP secret (pending until the first code confirms it), the failure counter and lock of
//   the sign-in back-off, a one-time set-password token (hashed) and the offboarding time.
// - `staff_sessions`: server-side sessions. Only the SHA-256 of the cookie's value is stored, so a
//   database read decides every request and offboarding (a DELETE) ends a session at once.
// - `api_keys.staff_id`: a key may belong to a person; offboarding revokes that person's keys.
// - the `staff` scope (managing staff) joins the scopes an API key may hold.

const SCOPES_BEFORE = sql`ARRAY[
  'recipients:read', 'recipients:write', 'consents:read', 'consents:write', 'dsr', 'offers:write',
  'campaigns:write', 'campaigns:approve', 'reports:read', 'ops', 'audit:read'
]::text[]`;
const SCOPES_AFTER = sql`ARRAY[
  'recipients:read', 'recipients:write', 'consents:read', 'consents:write', 'dsr', 'offers:write',
  'campaigns:write', 'campaigns:approve', 'reports:read', 'ops', 'audit:read', 'staff'
]::text[]`;

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE staff (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      email text NOT NULL CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
      name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
      roles text[] NOT NULL CHECK (
        roles <@ ARRAY['marketer', 'approver', 'support', 'dpo', 'ops', 'admin']::text[]
      ),
      password_hash text,
      password_set_at timestamptz,
      set_password_token_hash text UNIQUE CHECK (set_password_token_hash ~ '^[0-9a-f]{64}$'),
      set_password_expires_at timestamptz,
      totp_secret text,
      totp_enrolled_at timestamptz,
      totp_last_step bigint,
      failed_attempts integer NOT NULL DEFAULT 0 CHECK (failed_attempts >= 0),
      lockouts integer NOT NULL DEFAULT 0 CHECK (lockouts >= 0),
      locked_until timestamptz,
      created_by text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      offboarded_at timestamptz
    )
  `.execute(db);
  // One live account per address; an offboarded person's row stays (the audit log names its id).
  await sql`CREATE UNIQUE INDEX staff_live_email ON staff (email) WHERE offboarded_at IS NULL`.execute(db);

  await sql`
    CREATE TABLE staff_sessions (
      id_hash text PRIMARY KEY CHECK (id_hash ~ '^[0-9a-f]{64}$'),
      staff_id bigint NOT NULL REFERENCES staff (id),
      created_at timestamptz NOT NULL DEFAULT now(),
      last_seen_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL
    )
  `.execute(db);
  await sql`CREATE INDEX staff_sessions_by_staff ON staff_sessions (staff_id)`.execute(db);

  await sql`ALTER TABLE api_keys ADD COLUMN staff_id bigint REFERENCES staff (id)`.execute(db);
  await sql`ALTER TABLE api_keys DROP CONSTRAINT api_keys_scopes_check`.execute(db);
  await sql`
    ALTER TABLE api_keys ADD CONSTRAINT api_keys_scopes_check
      CHECK (cardinality(scopes) > 0 AND scopes <@ ${SCOPES_AFTER})
  `.execute(db);

  await sql`GRANT SELECT, INSERT, UPDATE ON staff TO consentcast_app`.execute(db);
  await sql`GRANT SELECT, INSERT, UPDATE, DELETE ON staff_sessions TO consentcast_app`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE api_keys DROP CONSTRAINT api_keys_scopes_check`.execute(db);
  await sql`DELETE FROM api_keys WHERE 'staff' = ANY (scopes)`.execute(db);
  await sql`
    ALTER TABLE api_keys ADD CONSTRAINT api_keys_scopes_check
      CHECK (cardinality(scopes) > 0 AND scopes <@ ${SCOPES_BEFORE})
  `.execute(db);
  await sql`ALTER TABLE api_keys DROP COLUMN staff_id`.execute(db);
  await sql`DROP TABLE staff_sessions`.execute(db);
  await sql`DROP TABLE staff`.execute(db);
}
