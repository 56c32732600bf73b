import { type Kysely, sql } from 'kysely';

// Frozen in time: never imports application code.
//
// API keys (hashed at rest, scoped), the register of data-subject requests (N14) and the audit log
// of who did what (N16). The audit log is append-only for everyone.

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE api_keys (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
      key_prefix text NOT NULL UNIQUE CHECK (key_prefix ~ '^[A-Za-z0-9_]{8,32}$'),
      secret_hash text NOT NULL CHECK (secret_hash ~ '^[0-9a-f]{64}$'),
      scopes text[] NOT NULL CHECK (
        cardinality(scopes) > 0 AND scopes <@ ARRAY[
          'recipients:read', 'recipients:write', 'consents:read', 'consents:write', 'dsr', 'offers:write',
          'campaigns:write', 'campaigns:approve', 'reports:read', 'ops', 'audit:read'
        ]::text[]
      ),
      created_by text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz,
      revoked_at timestamptz,
      last_used_at timestamptz
    )
  `.execute(db);

  await sql`
    CREATE TABLE dsr_requests (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      recipient_id bigint REFERENCES recipients (id),
      kind text NOT NULL CHECK (
        kind IN ('access', 'portability', 'rectify', 'erase', 'restrict', 'lift_restriction',
                 'object_marketing', 'object_profiling')
      ),
      received_via text NOT NULL CHECK (received_via IN ('email', 'app', 'letter', 'branch', 'phone', 'web')),
      received_at timestamptz NOT NULL,
      due_at timestamptz NOT NULL,
      identity_checked_by text,
      identity_checked_at timestamptz,
      status text NOT NULL DEFAULT 'received' CHECK (status IN ('received', 'in_progress', 'completed', 'rejected')),
      outcome text CHECK (length(outcome) <= 2000),
      handled_by text,
      completed_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT dsr_due_after_received CHECK (due_at >= received_at),
      CONSTRAINT dsr_identity_check_complete CHECK ((identity_checked_by IS NULL) = (identity_checked_at IS NULL)),
      CONSTRAINT dsr_closed_has_time CHECK ((status IN ('completed', 'rejected')) = (completed_at IS NOT NULL))
    )
  `.execute(db);
  await sql`CREATE INDEX dsr_requests_open_by_due ON dsr_requests (due_at) WHERE status IN ('received', 'in_progress')`.execute(
    db,
  );
  await sql`CREATE INDEX dsr_requests_by_recipient ON dsr_requests (recipient_id)`.execute(db);

  // recipient_id is the surrogate id only, with no foreign key: the log outlives everything it names.
  await sql`
    CREATE TABLE audit_log (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      occurred_at timestamptz NOT NULL DEFAULT now(),
      actor_type text NOT NULL CHECK (actor_type IN ('api_key', 'operator', 'system', 'staff', 'data_subject')),
      actor_id text NOT NULL CHECK (length(actor_id) BETWEEN 1 AND 200),
      action text NOT NULL CHECK (action ~ '^[a-z_]+(\\.[a-z_]+)*$'),
      subject_type text NOT NULL CHECK (length(subject_type) BETWEEN 1 AND 100),
      subject_id text,
      recipient_id bigint,
      request_id text,
      reason text CHECK (length(reason) <= 2000),
      details jsonb NOT NULL DEFAULT '{}'::jsonb
    )
  `.execute(db);
  await sql`CREATE INDEX audit_log_by_time ON audit_log (occurred_at)`.execute(db);
  await sql`CREATE INDEX audit_log_by_recipient ON audit_log (recipient_id, occurred_at) WHERE recipient_id IS NOT NULL`.execute(
    db,
  );
  await sql`
    CREATE FUNCTION consentcast_audit_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      NEW.occurred_at := now();
      RETURN NEW;
    END $$
  `.execute(db);
  await sql`
    CREATE TRIGGER audit_log_stamp BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION consentcast_audit_stamp()
  `.execute(db);
  await sql`
    CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
      FOR EACH ROW EXECUTE FUNCTION consentcast_forbid_change()
  `.execute(db);
  await sql`
    CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
      FOR EACH STATEMENT EXECUTE FUNCTION consentcast_forbid_change()
  `.execute(db);

  await sql`GRANT SELECT, INSERT, UPDATE ON api_keys, dsr_requests TO consentcast_app`.execute(db);
  await sql`GRANT SELECT, INSERT ON audit_log TO consentcast_app`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE audit_log`.execute(db);
  await sql`DROP FUNCTION consentcast_audit_stamp()`.execute(db);
  await sql`DROP TABLE dsr_requests`.execute(db);
  await sql`DROP TABLE api_keys`.execute(db);
}
