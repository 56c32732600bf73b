import { type Kysely, sql } from 'kysely';

// Frozen in time: never imports application code.
//
// Offers and campaigns (N3: every offer and campaign belongs to exactly one purpose), campaign runs
// with their checkpoint and funnel, and who was excluded from a run and why.

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE offers (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      key text NOT NULL UNIQUE CHECK (key ~ '^[a-z0-9][a-z0-9_-]{1,62}$'),
      name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
      purpose text NOT NULL CHECK (purpose IN ('service_offers', 'partner_offers', 'contests', 'feedback')),
      owner_kind text NOT NULL DEFAULT 'own' CHECK (owner_kind IN ('own', 'partner')),
      partner_name text CHECK (length(partner_name) BETWEEN 1 AND 200),
      status text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'active', 'archived')),
      valid_from timestamptz,
      valid_until timestamptz,
      priority integer NOT NULL DEFAULT 0,
      eligibility jsonb,
      personalised boolean NOT NULL DEFAULT false,
      send_cap_total integer CHECK (send_cap_total > 0),
      resend_after_days integer NOT NULL DEFAULT 30 CHECK (resend_after_days >= 0),
      fallback_locale text NOT NULL DEFAULT 'lv' CHECK (fallback_locale IN ('lv', 'en', 'ru')),
      created_by text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT offers_partner_named CHECK ((owner_kind = 'partner') = (partner_name IS NOT NULL)),
      CONSTRAINT offers_partner_purpose CHECK (owner_kind <> 'partner' OR purpose = 'partner_offers'),
      CONSTRAINT offers_valid_window CHECK (valid_from IS NULL OR valid_until IS NULL OR valid_until > valid_from)
    )
  `.execute(db);
  await sql`CREATE INDEX offers_active_by_purpose ON offers (purpose, priority DESC) WHERE status = 'active'`.execute(
    db,
  );

  // Content per channel and locale. body is the e-mail text part, the SMS text or the push body.
  await sql`
    CREATE TABLE offer_contents (
      offer_id bigint NOT NULL REFERENCES offers (id) ON DELETE CASCADE,
      channel text NOT NULL CHECK (channel IN ('email', 'sms', 'push')),
      locale text NOT NULL CHECK (locale IN ('lv', 'en', 'ru')),
      subject text,
      html text,
      title text,
      body text NOT NULL CHECK (length(body) > 0),
      PRIMARY KEY (offer_id, channel, locale),
      CONSTRAINT offer_contents_email CHECK (channel <> 'email' OR (subject IS NOT NULL AND html IS NOT NULL AND title IS NULL)),
      CONSTRAINT offer_contents_sms CHECK (channel <> 'sms' OR (subject IS NULL AND html IS NULL AND title IS NULL)),
      CONSTRAINT offer_contents_push CHECK (channel <> 'push' OR (title IS NOT NULL AND subject IS NULL AND html IS NULL))
    )
  `.execute(db);

  await sql`
    CREATE TABLE campaigns (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
      purpose text NOT NULL CHECK (purpose IN ('service_offers', 'partner_offers', 'contests', 'feedback')),
      status text NOT NULL DEFAULT 'draft' CHECK (
        status IN ('draft', 'pending_approval', 'approved', 'scheduled', 'running', 'paused', 'completed', 'cancelled')
      ),
      audience jsonb NOT NULL DEFAULT '{"all": []}'::jsonb,
      offer_mode text NOT NULL DEFAULT 'best_match' CHECK (offer_mode IN ('fixed', 'best_match')),
      channels text[] NOT NULL CHECK (
        cardinality(channels) BETWEEN 1 AND 3 AND channels <@ ARRAY['email', 'sms', 'push']::text[]
      ),
      channel_strategy text NOT NULL DEFAULT 'all' CHECK (channel_strategy IN ('all', 'first')),
      quiet_start_minute smallint CHECK (quiet_start_minute BETWEEN 0 AND 1439),
      quiet_end_minute smallint CHECK (quiet_end_minute BETWEEN 0 AND 1439),
      frequency_cap_max smallint CHECK (frequency_cap_max > 0),
      frequency_cap_window_hours integer CHECK (frequency_cap_window_hours BETWEEN 1 AND 8784),
      send_rate_per_second integer CHECK (send_rate_per_second > 0),
      schedule_kind text NOT NULL DEFAULT 'none' CHECK (schedule_kind IN ('none', 'once', 'cron', 'every')),
      schedule_at timestamptz,
      schedule_cron text CHECK (length(schedule_cron) BETWEEN 9 AND 120),
      schedule_every_seconds integer CHECK (schedule_every_seconds > 0),
      schedule_time_zone text NOT NULL DEFAULT 'Europe/Riga' CHECK (consentcast_is_time_zone(schedule_time_zone)),
      schedule_ends_at timestamptz,
      version integer NOT NULL DEFAULT 1,
      approved_version integer,
      approved_by text,
      approved_at timestamptz,
      created_by text NOT NULL,
      updated_by text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      paused_at timestamptz,
      cancelled_at timestamptz,
      CONSTRAINT campaigns_quiet_pair CHECK ((quiet_start_minute IS NULL) = (quiet_end_minute IS NULL)),
      CONSTRAINT campaigns_cap_pair CHECK ((frequency_cap_max IS NULL) = (frequency_cap_window_hours IS NULL)),
      CONSTRAINT campaigns_schedule_once CHECK ((schedule_kind = 'once') = (schedule_at IS NOT NULL)),
      CONSTRAINT campaigns_schedule_cron CHECK ((schedule_kind = 'cron') = (schedule_cron IS NOT NULL)),
      CONSTRAINT campaigns_schedule_every CHECK ((schedule_kind = 'every') = (schedule_every_seconds IS NOT NULL)),
      CONSTRAINT campaigns_approval_complete CHECK (
        (approved_version IS NULL) = (approved_by IS NULL) AND (approved_by IS NULL) = (approved_at IS NULL)
      )
    )
  `.execute(db);
  await sql`CREATE INDEX campaigns_scheduled ON campaigns (status) WHERE schedule_kind <> 'none'`.execute(db);

  // A fixed campaign names its offers here; a best-match campaign draws from its purpose's active offers.
  await sql`
    CREATE TABLE campaign_offers (
      campaign_id bigint NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
      offer_id bigint NOT NULL REFERENCES offers (id),
      PRIMARY KEY (campaign_id, offer_id)
    )
  `.execute(db);

  await sql`
    CREATE TABLE campaign_approvals (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      campaign_id bigint NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
      campaign_version integer NOT NULL,
      action text NOT NULL CHECK (action IN ('requested', 'approved', 'rejected', 'revoked')),
      actor text NOT NULL,
      reason text,
      occurred_at timestamptz NOT NULL DEFAULT now()
    )
  `.execute(db);
  await sql`CREATE INDEX campaign_approvals_by_campaign ON campaign_approvals (campaign_id, occurred_at)`.execute(
    db,
  );

  // One run per occurrence of a campaign (a manual run, a scheduled tick, a test send). Everything up to
  // checkpoint_recipient_id is written to the outbox; up to enqueued_through_recipient_id also enqueued.
  await sql`
    CREATE TABLE campaign_runs (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      campaign_id bigint NOT NULL REFERENCES campaigns (id),
      occurrence_key text NOT NULL CHECK (length(occurrence_key) BETWEEN 1 AND 200),
      trigger text NOT NULL CHECK (trigger IN ('manual', 'schedule', 'test')),
      status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
      campaign_version integer NOT NULL,
      checkpoint_recipient_id bigint NOT NULL DEFAULT 0,
      enqueued_through_recipient_id bigint NOT NULL DEFAULT 0,
      lease_owner text,
      lease_expires_at timestamptz,
      funnel jsonb NOT NULL DEFAULT '{}'::jsonb,
      attempts integer NOT NULL DEFAULT 0,
      error text,
      created_at timestamptz NOT NULL DEFAULT now(),
      started_at timestamptz,
      finished_at timestamptz,
      UNIQUE (campaign_id, occurrence_key),
      CONSTRAINT campaign_runs_enqueued_after_written CHECK (enqueued_through_recipient_id <= checkpoint_recipient_id),
      CONSTRAINT campaign_runs_lease_pair CHECK ((lease_owner IS NULL) = (lease_expires_at IS NULL))
    )
  `.execute(db);
  await sql`
    CREATE INDEX campaign_runs_active ON campaign_runs (status, lease_expires_at) WHERE status IN ('pending', 'running')
  `.execute(db);

  // Who was left out of a run and why, so "who did not get it, and why" has an answer for past runs.
  await sql`
    CREATE TABLE run_exclusions (
      run_id bigint NOT NULL REFERENCES campaign_runs (id) ON DELETE CASCADE,
      recipient_id bigint NOT NULL REFERENCES recipients (id) ON DELETE CASCADE,
      channel text NOT NULL CHECK (channel IN ('email', 'sms', 'push', 'any')),
      reason text NOT NULL CHECK (
        reason IN ('no_consent', 'restricted', 'objected', 'erased', 'no_contact', 'suppressed',
                   'frequency_cap', 'no_eligible_offer', 'channel_strategy')
      ),
      detail jsonb NOT NULL DEFAULT '{}'::jsonb,
      PRIMARY KEY (run_id, recipient_id, channel)
    )
  `.execute(db);
  await sql`CREATE INDEX run_exclusions_by_recipient ON run_exclusions (recipient_id)`.execute(db);

  await sql`
    GRANT SELECT, INSERT, UPDATE, DELETE ON offers, offer_contents, campaigns, campaign_offers, campaign_runs,
      run_exclusions TO consentcast_app
  `.execute(db);
  await sql`GRANT SELECT, INSERT ON campaign_approvals TO consentcast_app`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of [
    'run_exclusions',
    'campaign_runs',
    'campaign_approvals',
    'campaign_offers',
    'campaigns',
    'offer_contents',
    'offers',
  ]) {
    await sql`DROP TABLE ${sql.table(table)}`.execute(db);
  }
}
