import { type Kysely, sql } from 'kysely';

// Frozen in time: never imports application code.
//
// The outbox: one message per run x person x channel. A message moves queued -> sending -> sent |
// failed | indeterminate, or queued -> skipped (with the reason); a retriable failure puts it back to
// queued. Nothing here holds rendered content: workers render at send time from the offer.

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE messages (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      run_id bigint NOT NULL REFERENCES campaign_runs (id),
      campaign_id bigint NOT NULL REFERENCES campaigns (id),
      recipient_id bigint NOT NULL REFERENCES recipients (id),
      channel text NOT NULL CHECK (channel IN ('email', 'sms', 'push')),
      purpose text NOT NULL CHECK (purpose IN ('service_offers', 'partner_offers', 'contests', 'feedback')),
      offer_id bigint NOT NULL REFERENCES offers (id),
      match jsonb NOT NULL DEFAULT '{}'::jsonb,
      status text NOT NULL DEFAULT 'queued' CHECK (
        status IN ('queued', 'sending', 'sent', 'skipped', 'failed', 'indeterminate')
      ),
      skip_reason text CHECK (
        skip_reason IN ('consent_withdrawn', 'restricted', 'objected', 'erased', 'no_contact', 'suppressed',
                        'frequency_cap', 'campaign_cancelled', 'offer_unavailable', 'expired')
      ),
      attempts smallint NOT NULL DEFAULT 0,
      not_before timestamptz,
      lease_expires_at timestamptz,
      provider_message_id text CHECK (length(provider_message_id) <= 500),
      error_code text CHECK (length(error_code) <= 100),
      error_detail text CHECK (length(error_detail) <= 2000),
      resolution text CHECK (resolution IN ('sent', 'not_sent')),
      resolved_by text,
      created_at timestamptz NOT NULL DEFAULT now(),
      claimed_at timestamptz,
      sent_at timestamptz,
      finished_at timestamptz,
      UNIQUE (run_id, recipient_id, channel),
      CONSTRAINT messages_skip_reason CHECK ((status = 'skipped') = (skip_reason IS NOT NULL)),
      CONSTRAINT messages_lease_only_when_sending CHECK (status = 'sending' OR lease_expires_at IS NULL),
      CONSTRAINT messages_resolution_complete CHECK ((resolution IS NULL) = (resolved_by IS NULL)),
      CONSTRAINT messages_resolution_only_indeterminate CHECK (resolution IS NULL OR status = 'indeterminate')
    )
  `.execute(db);
  // The reconciler's scans (leases past due, queued with no job) and the workers' claims.
  await sql`CREATE INDEX messages_in_flight ON messages (status, id) WHERE status IN ('queued', 'sending')`.execute(
    db,
  );
  // Frequency cap (N15): messages sent or being sent to one person in a rolling window.
  await sql`
    CREATE INDEX messages_cap_window ON messages (recipient_id, claimed_at) WHERE status IN ('sending', 'sent')
  `.execute(db);
  await sql`
    CREATE INDEX messages_by_provider_id ON messages (channel, provider_message_id) WHERE provider_message_id IS NOT NULL
  `.execute(db);
  await sql`CREATE INDEX messages_by_campaign ON messages (campaign_id, status)`.execute(db);
  await sql`CREATE INDEX messages_by_recipient ON messages (recipient_id)`.execute(db);
  await sql`CREATE INDEX messages_by_offer_recipient ON messages (offer_id, recipient_id)`.execute(db);

  // N8: what happened to each message after it left (delivery, opens, clicks, unsubscribes, replies).
  await sql`
    CREATE TABLE message_events (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      message_id bigint NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
      type text NOT NULL CHECK (
        type IN ('sent', 'delivered', 'undelivered', 'opened', 'clicked', 'bounced', 'complained',
                 'unsubscribed', 'replied', 'failed', 'indeterminate', 'resolved', 'retried')
      ),
      occurred_at timestamptz NOT NULL DEFAULT now(),
      provider_event_id text CHECK (length(provider_event_id) <= 500),
      data jsonb NOT NULL DEFAULT '{}'::jsonb,
      UNIQUE (message_id, type, provider_event_id)
    )
  `.execute(db);
  await sql`CREATE INDEX message_events_by_type_time ON message_events (type, occurred_at)`.execute(db);

  // Keyed hashes of normalised addresses and numbers: a person who complained stays suppressed even
  // after their erasure, without the address being kept.
  await sql`
    CREATE TABLE suppressions (
      channel text NOT NULL CHECK (channel IN ('email', 'sms')),
      address_hash text NOT NULL CHECK (address_hash ~ '^[0-9a-f]{64}$'),
      reason text NOT NULL CHECK (reason IN ('hard_bounce', 'complaint', 'invalid_number', 'manual')),
      source text NOT NULL CHECK (length(source) BETWEEN 1 AND 100),
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (channel, address_hash)
    )
  `.execute(db);

  await sql`GRANT SELECT, INSERT, UPDATE, DELETE ON messages, message_events, suppressions TO consentcast_app`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE suppressions`.execute(db);
  await sql`DROP TABLE message_events`.execute(db);
  await sql`DROP TABLE messages`.execute(db);
}
