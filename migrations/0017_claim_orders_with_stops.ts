import { type Kysely, sql } from 'kysely';

// Frozen in time: never imports application code.
//
// Issue 12: every promise holds at its edges; the order of commits decides (N1, N12, N13).
//
// 1. Emergency stops order with claims. A stop covers every channel or one (`emergency_stops.channel`,
//    NULL for all). `send_stop_scopes` holds one row per scope ('all', 'email', 'sms', 'push') naming
//    the open stop, if any. A claim locks the rows of its scopes FOR SHARE before anything else; a stop
//    locks its scope's row FOR UPDATE, records itself with the time it got that lock, and names itself
//    on the row. So a claim either commits before the stop takes its lock, or waits for the stop's
//    commit and then sees it (step 5 reads with a fresh snapshot). Nothing in Redis takes part.
// 2. Pauses order with claims the same way: a claim locks its messages' campaigns FOR SHARE, a pause
//    (an UPDATE of the campaign row) waits for it or is seen by it.
// 3. Hand-off marks. Each claim call takes a number from `claim_batches` and writes it on the messages
//    it claims (`messages.claim_batch`, in the same UPDATE, at no extra cost). Just before a message's
//    provider call starts, the worker inserts (claim batch, message) into `send_handoffs` as
//    'started'. When a lease expires, the reconciler inserts the same key as 'released'
//    (ON CONFLICT DO NOTHING): the primary key decides which came first. A started message may have
//    reached the provider (`indeterminate`); a released one certainly did not (back to `queued`, sent
//    again), and its worker, whose mark now conflicts, does not send it. So `indeterminate` means
//    "the provider call had started". A new claim is a new batch, hence a new key.
// 4. claimed_at is the statement clock at the decision (after every lock), so a stop's stopped_at (the
//    clock when it held its lock) orders with it: no claim decided after an open stop's stopped_at.

// 0015's consentcast_claim stays (so `down` has nothing to restore); the application calls this one.
const NEW_CLAIM_SIGNATURE =
  'consentcast_claim_0017(bigint[], text, integer, integer, integer, integer, integer, integer, integer, integer)';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE emergency_stops
      ADD COLUMN channel text CHECK (channel IN ('email', 'sms', 'push'))
  `.execute(db);
  await sql`DROP INDEX emergency_stops_one_open`.execute(db);
  await sql`
    CREATE UNIQUE INDEX emergency_stops_one_open_per_scope ON emergency_stops ((COALESCE(channel, 'all')))
    WHERE resumed_at IS NULL
  `.execute(db);
  await sql`
    CREATE TABLE send_stop_scopes (
      scope text PRIMARY KEY CHECK (scope IN ('all', 'email', 'sms', 'push')),
      open_stop_id bigint REFERENCES emergency_stops (id)
    )
  `.execute(db);
  await sql`
    INSERT INTO send_stop_scopes (scope, open_stop_id)
    SELECT s.scope, (SELECT e.id FROM emergency_stops e WHERE e.resumed_at IS NULL AND s.scope = 'all')
    FROM (VALUES ('all'), ('email'), ('sms'), ('push')) AS s (scope)
  `.execute(db);
  await sql`GRANT SELECT, UPDATE ON send_stop_scopes TO consentcast_app`.execute(db);

  await sql`CREATE SEQUENCE claim_batches AS bigint`.execute(db);
  await sql`GRANT USAGE ON SEQUENCE claim_batches TO consentcast_app`.execute(db);
  await sql`ALTER TABLE messages ADD COLUMN claim_batch bigint`.execute(db);
  await sql`
    CREATE TABLE send_handoffs (
      claim_batch bigint NOT NULL,
      message_id bigint NOT NULL,
      kind text NOT NULL CHECK (kind IN ('started', 'released')),
      at timestamptz NOT NULL DEFAULT clock_timestamp(),
      PRIMARY KEY (claim_batch, message_id)
    )
  `.execute(db);
  await sql`CREATE INDEX send_handoffs_by_time ON send_handoffs (at)`.execute(db);
  await sql`GRANT SELECT, INSERT, DELETE ON send_handoffs TO consentcast_app`.execute(db);

  await sql`
    CREATE FUNCTION consentcast_claim_0017(
      p_ids bigint[], p_channel text, p_lease_seconds integer, p_paused_seconds integer,
      p_cap_max integer, p_cap_hours integer, p_ceiling_max integer, p_ceiling_hours integer,
      p_quiet_start integer, p_quiet_end integer
    ) RETURNS TABLE (
      id bigint, decision text, until timestamptz, attempts integer, claim_batch bigint,
      offer_id bigint, locale text, first_name text, last_name text, address text, client_number text, tokens text[]
    )
    LANGUAGE plpgsql VOLATILE SECURITY INVOKER
    SET search_path = public, pg_temp
    AS $fn$
    DECLARE
      mine bigint[];
      batch bigint;
      stopped boolean;
    BEGIN
      -- 1. the stop scopes of this channel, FOR SHARE: a stop being recorded waits for this commit;
      --    one recorded first is seen by step 6 (each statement takes a fresh snapshot)
      PERFORM 1 FROM send_stop_scopes s WHERE s.scope IN ('all', p_channel) ORDER BY s.scope FOR SHARE;

      -- 2. the campaigns of the batch, FOR SHARE: a pause or cancel orders with this claim the same way
      PERFORM 1 FROM campaigns c
      WHERE c.id IN (SELECT m.campaign_id FROM messages m WHERE m.id = ANY (p_ids))
      ORDER BY c.id FOR SHARE;

      -- 3. the messages still queued on the channel, in id order (ids drive it, whatever the statistics)
      SELECT array_agg(q.id ORDER BY q.id) INTO mine FROM (
        SELECT m.id FROM messages m
        WHERE m.id = ANY (p_ids) AND (m.status = 'queued' AND m.channel = p_channel) IS TRUE
        ORDER BY m.id FOR UPDATE
      ) q;
      IF mine IS NULL THEN
        RETURN;
      END IF;

      -- 4. their people FOR NO KEY UPDATE (the per-person lock the cap is counted under)
      PERFORM 1 FROM recipients r
      WHERE r.id IN (SELECT m.recipient_id FROM messages m WHERE m.id = ANY (mine))
      ORDER BY r.id FOR NO KEY UPDATE;

      -- 5. their consent rows FOR SHARE (a withdrawal being written waits for this commit)
      PERFORM 1 FROM consents c
      JOIN messages m ON m.recipient_id = c.recipient_id AND m.purpose = c.purpose AND m.channel = c.channel
      WHERE m.id = ANY (mine)
      ORDER BY c.recipient_id, c.purpose, c.channel FOR SHARE OF c;

      SELECT EXISTS (SELECT 1 FROM send_stop_scopes s WHERE s.scope IN ('all', p_channel) AND s.open_stop_id IS NOT NULL)
        INTO stopped;
      batch := nextval('claim_batches');

      -- 6. one UPDATE decides every locked message
      RETURN QUERY
      WITH m AS MATERIALIZED (
        SELECT m.id, m.recipient_id, m.purpose, m.channel, m.offer_id, m.attempts,
               camp.status AS campaign_status,
               COALESCE(camp.quiet_start_minute::integer, p_quiet_start) AS quiet_start,
               COALESCE(camp.quiet_end_minute::integer, p_quiet_end) AS quiet_end,
               COALESCE(camp.frequency_cap_max, p_cap_max) AS cap_max,
               COALESCE(camp.frequency_cap_window_hours, p_cap_hours) AS cap_hours,
               r.time_zone, r.erased_at, r.objected_at, r.restricted_at, r.email, r.email_hash, r.phone, r.phone_hash,
               c.status AS consent_status, o.status AS offer_status, o.valid_until
        FROM messages m
        JOIN recipients r ON r.id = m.recipient_id
        JOIN campaigns camp ON camp.id = m.campaign_id
        JOIN offers o ON o.id = m.offer_id
        LEFT JOIN consents c ON c.recipient_id = m.recipient_id AND c.purpose = m.purpose AND c.channel = m.channel
        WHERE m.id = ANY (mine)
      ),
      zones AS MATERIALIZED (
        SELECT z.time_zone, z.quiet_start, z.quiet_end,
               consentcast_quiet_until(z.time_zone, z.quiet_start, z.quiet_end, now()) AS quiet_until
        FROM (SELECT DISTINCT m.time_zone, m.quiet_start, m.quiet_end FROM m) z
      ),
      pre AS MATERIALIZED (
        SELECT m.*, zones.quiet_until,
          CASE
            WHEN m.campaign_status = 'cancelled' THEN 'skip:campaign_cancelled'
            WHEN m.erased_at IS NOT NULL THEN 'skip:erased'
            WHEN m.objected_at IS NOT NULL THEN 'skip:objected'
            WHEN m.restricted_at IS NOT NULL THEN 'skip:restricted'
            WHEN m.consent_status IS DISTINCT FROM 'granted' THEN 'skip:consent_withdrawn'
            WHEN (m.channel = 'email' AND m.email IS NULL) OR (m.channel = 'sms' AND m.phone IS NULL)
              OR (m.channel = 'push' AND NOT EXISTS (
                    SELECT 1 FROM devices d WHERE d.recipient_id = m.recipient_id AND d.invalidated_at IS NULL))
              THEN 'skip:no_contact'
            WHEN EXISTS (SELECT 1 FROM suppressions s WHERE s.channel = m.channel
                           AND s.address_hash = CASE m.channel WHEN 'email' THEN m.email_hash WHEN 'sms' THEN m.phone_hash END)
              THEN 'skip:suppressed'
            WHEN m.offer_status <> 'active' OR (m.valid_until IS NOT NULL AND m.valid_until <= now())
              THEN 'skip:offer_unavailable'
            WHEN stopped THEN 'defer:stopped'
            WHEN m.campaign_status = 'paused' THEN 'defer:paused'
            WHEN zones.quiet_until IS NOT NULL THEN 'defer:quiet_hours'
            ELSE 'claim'
          END AS pre_decision
        FROM m
        JOIN zones ON zones.time_zone = m.time_zone AND zones.quiet_start = m.quiet_start
          AND zones.quiet_end = m.quiet_end
      ),
      counted AS MATERIALIZED (
        SELECT pre.id, pre.attempts, pre.pre_decision, pre.quiet_until, pre.cap_max,
          CASE WHEN pre.pre_decision = 'claim' THEN
            (SELECT count(*)::integer FROM messages x
             WHERE x.recipient_id = pre.recipient_id
               AND (x.status IN ('sending', 'sent') OR (x.status = 'indeterminate' AND x.resolution IS DISTINCT FROM 'not_sent'))
               AND x.purpose = pre.purpose AND x.claimed_at > now() - make_interval(hours => pre.cap_hours))
            + row_number() OVER (PARTITION BY pre.recipient_id, pre.purpose, pre.pre_decision ORDER BY pre.id)::integer
          END AS purpose_count,
          CASE WHEN pre.pre_decision = 'claim' THEN
            (SELECT count(*)::integer FROM messages x
             WHERE x.recipient_id = pre.recipient_id
               AND (x.status IN ('sending', 'sent') OR (x.status = 'indeterminate' AND x.resolution IS DISTINCT FROM 'not_sent'))
               AND x.claimed_at > now() - make_interval(hours => p_ceiling_hours))
            + row_number() OVER (PARTITION BY pre.recipient_id, pre.pre_decision ORDER BY pre.id)::integer
          END AS total_count
        FROM pre
      ),
      decided AS (
        SELECT k.id, k.attempts,
          CASE
            WHEN k.pre_decision <> 'claim' THEN k.pre_decision
            WHEN k.purpose_count > k.cap_max OR k.total_count > p_ceiling_max THEN 'skip:frequency_cap'
            ELSE 'claim'
          END AS decision,
          CASE
            WHEN k.pre_decision = 'defer:quiet_hours' THEN k.quiet_until
            WHEN k.pre_decision IN ('defer:paused', 'defer:stopped') THEN now() + make_interval(secs => p_paused_seconds)
          END AS until
        FROM counted k
      ),
      changed AS (
        UPDATE messages msg SET
          status = CASE WHEN d.decision = 'claim' THEN 'sending' WHEN d.decision LIKE 'skip:%' THEN 'skipped' ELSE 'queued' END,
          skip_reason = CASE WHEN d.decision LIKE 'skip:%' THEN substr(d.decision, 6) END,
          attempts = CASE WHEN d.decision = 'claim' THEN msg.attempts + 1 ELSE msg.attempts END,
          claimed_at = CASE WHEN d.decision = 'claim' THEN clock_timestamp() ELSE msg.claimed_at END,
          claim_batch = CASE WHEN d.decision = 'claim' THEN batch ELSE msg.claim_batch END,
          lease_expires_at = CASE WHEN d.decision = 'claim' THEN now() + make_interval(secs => p_lease_seconds) END,
          not_before = CASE WHEN d.decision LIKE 'defer:%' THEN d.until ELSE msg.not_before END,
          finished_at = CASE WHEN d.decision LIKE 'skip:%' THEN now() ELSE msg.finished_at END
        FROM decided d
        WHERE msg.id = d.id
        RETURNING msg.id, d.decision, d.until, msg.attempts::integer AS attempts, msg.recipient_id, msg.offer_id
      )
      -- N7: what the channel needs to send a claimed message, and nothing else, read under step 4's lock.
      SELECT ch.id, ch.decision, ch.until, ch.attempts, batch, ch.offer_id, r.locale, r.first_name, r.last_name,
             CASE p_channel WHEN 'email' THEN r.email WHEN 'sms' THEN r.phone END,
             CASE WHEN p_channel = 'push' THEN r.client_number END,
             CASE WHEN p_channel = 'push' THEN ARRAY(
               SELECT d.token FROM devices d WHERE d.recipient_id = r.id AND d.invalidated_at IS NULL
               ORDER BY d.last_seen_at DESC LIMIT 5) END
      FROM changed ch
      LEFT JOIN recipients r ON ch.decision = 'claim' AND r.id = ch.recipient_id;
    END
    $fn$
  `.execute(db);
  await sql`REVOKE ALL ON FUNCTION ${sql.raw(NEW_CLAIM_SIGNATURE)} FROM PUBLIC`.execute(db);
  await sql`GRANT EXECUTE ON FUNCTION ${sql.raw(NEW_CLAIM_SIGNATURE)} TO consentcast_app`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP FUNCTION ${sql.raw(NEW_CLAIM_SIGNATURE)}`.execute(db);
  await sql`DROP TABLE send_handoffs`.execute(db);
  await sql`ALTER TABLE messages DROP COLUMN claim_batch`.execute(db);
  await sql`DROP SEQUENCE claim_batches`.execute(db);
  await sql`DROP TABLE send_stop_scopes`.execute(db);
  await sql`DROP INDEX emergency_stops_one_open_per_scope`.execute(db);
  await sql`DELETE FROM emergency_stops WHERE channel IS NOT NULL`.execute(db);
  await sql`ALTER TABLE emergency_stops DROP COLUMN channel`.execute(db);
  await sql`CREATE UNIQUE INDEX emergency_stops_one_open ON emergency_stops ((true)) WHERE resumed_at IS NULL`.execute(
    db,
  );
}
