import { type Kysely, sql } from 'kysely';

// Frozen in time: never imports application code.
//
// The consent ledger (N1, N11-N13). consent_events is the evidence: append-only, no direct
// identifiers (a surrogate person id; actor, IP and user agent as keyed hashes made by the app).
// consents is the current state per person x purpose x channel, updated in the same transaction.

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE consent_events (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      recipient_id bigint NOT NULL REFERENCES recipients (id),
      purpose text NOT NULL CHECK (purpose IN ('service_offers', 'partner_offers', 'contests', 'feedback')),
      channel text NOT NULL CHECK (channel IN ('email', 'sms', 'push')),
      action text NOT NULL CHECK (action IN ('grant', 'withdraw', 'lapse')),
      source text NOT NULL CHECK (source IN ('app', 'web', 'unsubscribe_link', 'sms_keyword', 'operator', 'import', 'api')),
      actor_hash text CHECK (actor_hash ~ '^[0-9a-f]{64}$'),
      notice_version text REFERENCES notices (version),
      notice_sha256 text CHECK (notice_sha256 ~ '^[0-9a-f]{64}$'),
      request_id text CHECK (length(request_id) <= 200),
      ip_hash text CHECK (ip_hash ~ '^[0-9a-f]{64}$'),
      user_agent_hash text CHECK (user_agent_hash ~ '^[0-9a-f]{64}$'),
      reason text CHECK (reason ~ '^[a-z_]{1,64}$'),
      occurred_at timestamptz NOT NULL,
      recorded_at timestamptz NOT NULL DEFAULT now(),
      retain_until timestamptz,
      CONSTRAINT consent_events_grant_names_notice CHECK (
        action <> 'grant' OR (notice_version IS NOT NULL AND notice_sha256 IS NOT NULL)
      )
    )
  `.execute(db);
  await sql`
    CREATE INDEX consent_events_by_subject ON consent_events (recipient_id, purpose, channel, occurred_at)
  `.execute(db);
  await sql`
    CREATE INDEX consent_events_by_retention ON consent_events (retain_until) WHERE retain_until IS NOT NULL
  `.execute(db);

  // The database, not the app, stamps recorded_at and the retention date (5 years after the
  // withdrawal or lapse, N11), and holds a grant to the exact notice text it names.
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

  // Deleting evidence is allowed only inside consentcast_purge_consent_events, which sets a
  // transaction-local flag; the app role has no DELETE privilege to try it otherwise.
  await sql`
    CREATE FUNCTION consentcast_consent_events_guard() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE' AND current_setting('consentcast.retention_purge', true) = 'on' THEN
        RETURN OLD;
      END IF;
      RAISE EXCEPTION 'consent_events is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
    END $$
  `.execute(db);
  await sql`
    CREATE TRIGGER consent_events_append_only BEFORE UPDATE OR DELETE ON consent_events
      FOR EACH ROW EXECUTE FUNCTION consentcast_consent_events_guard()
  `.execute(db);
  await sql`
    CREATE TRIGGER consent_events_no_truncate BEFORE TRUNCATE ON consent_events
      FOR EACH STATEMENT EXECUTE FUNCTION consentcast_forbid_change()
  `.execute(db);

  // An event is past retention when a withdrawal or lapse of the same person, purpose and channel, at or
  // after it, is itself past its retention date. A grant still in force has no such event: it stays.
  await sql`
    CREATE FUNCTION consentcast_consent_event_expired(e consent_events) RETURNS boolean
    LANGUAGE sql STABLE AS $$
      SELECT EXISTS (
        SELECT 1 FROM consent_events t
        WHERE t.recipient_id = e.recipient_id AND t.purpose = e.purpose AND t.channel = e.channel
          AND t.action IN ('withdraw', 'lapse') AND t.occurred_at >= e.occurred_at
          AND t.retain_until < now()
      )
    $$
  `.execute(db);
  await sql`
    CREATE FUNCTION consentcast_purge_consent_events(p_ids bigint[] DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    DECLARE
      refused bigint;
      deleted bigint;
    BEGIN
      IF p_ids IS NOT NULL THEN
        SELECT e.id INTO refused FROM consent_events e
          WHERE e.id = ANY (p_ids) AND NOT consentcast_consent_event_expired(e) LIMIT 1;
        IF FOUND THEN
          RAISE EXCEPTION 'consent event % is not past its retention date', refused
            USING ERRCODE = 'check_violation';
        END IF;
      END IF;
      PERFORM set_config('consentcast.retention_purge', 'on', true);
      DELETE FROM consent_events e
        WHERE (p_ids IS NULL OR e.id = ANY (p_ids)) AND consentcast_consent_event_expired(e);
      GET DIAGNOSTICS deleted = ROW_COUNT;
      PERFORM set_config('consentcast.retention_purge', 'off', true);
      RETURN deleted;
    END $$
  `.execute(db);
  await sql`REVOKE ALL ON FUNCTION consentcast_purge_consent_events(bigint[]) FROM PUBLIC`.execute(db);
  await sql`GRANT EXECUTE ON FUNCTION consentcast_purge_consent_events(bigint[]) TO consentcast_app`.execute(
    db,
  );

  await sql`
    CREATE TABLE consents (
      recipient_id bigint NOT NULL REFERENCES recipients (id),
      purpose text NOT NULL CHECK (purpose IN ('service_offers', 'partner_offers', 'contests', 'feedback')),
      channel text NOT NULL CHECK (channel IN ('email', 'sms', 'push')),
      status text NOT NULL CHECK (status IN ('granted', 'withdrawn', 'lapsed')),
      source text NOT NULL CHECK (source IN ('app', 'web', 'unsubscribe_link', 'sms_keyword', 'operator', 'import', 'api')),
      occurred_at timestamptz NOT NULL,
      event_id bigint REFERENCES consent_events (id) ON DELETE SET NULL,
      notice_version text REFERENCES notices (version),
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (recipient_id, purpose, channel)
    )
  `.execute(db);
  // Segmentation scans granted consents of one purpose and channel in recipient-id order (keyset chunks).
  await sql`
    CREATE INDEX consents_granted_scan ON consents (purpose, channel, recipient_id) WHERE status = 'granted'
  `.execute(db);

  // A retried request (same key) records its effects once, even when the retries race.
  await sql`
    CREATE TABLE idempotency_keys (
      scope text NOT NULL CHECK (length(scope) BETWEEN 1 AND 100),
      key text NOT NULL CHECK (length(key) BETWEEN 1 AND 200),
      request_hash text NOT NULL CHECK (request_hash ~ '^[0-9a-f]{64}$'),
      status_code integer,
      response jsonb,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (scope, key)
    )
  `.execute(db);
  await sql`CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at)`.execute(db);

  await sql`GRANT SELECT, INSERT ON consent_events TO consentcast_app`.execute(db);
  await sql`GRANT SELECT, INSERT, UPDATE ON consents TO consentcast_app`.execute(db);
  await sql`GRANT SELECT, INSERT, UPDATE, DELETE ON idempotency_keys TO consentcast_app`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE idempotency_keys`.execute(db);
  await sql`DROP TABLE consents`.execute(db);
  await sql`DROP FUNCTION consentcast_purge_consent_events(bigint[])`.execute(db);
  await sql`DROP FUNCTION consentcast_consent_event_expired(consent_events)`.execute(db);
  await sql`DROP TABLE consent_events`.execute(db);
  await sql`DROP FUNCTION consentcast_consent_events_guard()`.execute(db);
  await sql`DROP FUNCTION consentcast_consent_event_stamp()`.execute(db);
}
