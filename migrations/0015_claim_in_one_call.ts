import { type Kysely, sql } from 'kysely';

// Frozen in time: never imports application code.
//
// The channel workers' claim and re-check (N1, N13, N15) as one function, so that a batch of claims
// is one round trip instead of seven (BEGIN, three lock statements, the deciding UPDATE, COMMIT, and
// the load of what the channel needs to send, N7, which the deciding statement now returns). The
// order of its steps is the protocol of src/delivery/claim.ts and docs/delivery.md, unchanged:
//   1. lock the messages still `queued` on the channel, in id order;
//   2. lock their people FOR NO KEY UPDATE, in id order (the per-person lock the cap is counted under;
//      marker changes serialise with it);
//   3. lock their consent rows FOR SHARE, in key order (a withdrawal being written waits for this
//      transaction, and one committed first is seen by step 4);
//   4. one UPDATE decides every locked message.
// The function is VOLATILE and runs in READ COMMITTED, so each of its statements takes a fresh
// snapshot: step 4 sees every withdrawal or marker committed while steps 1-3 waited, exactly as when
// the steps were separate statements of one transaction.
//
// The frequency-cap predicate is migration 0013's (the partial index `messages_cap_window`).

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE FUNCTION consentcast_claim(
      p_ids bigint[], p_channel text, p_lease_seconds integer, p_paused_seconds integer,
      p_cap_max integer, p_cap_hours integer, p_ceiling_max integer, p_ceiling_hours integer,
      p_quiet_start integer, p_quiet_end integer
    ) RETURNS TABLE (
      id bigint, decision text, until timestamptz, attempts integer,
      offer_id bigint, locale text, first_name text, last_name text, address text, client_number text, tokens text[]
    )
    LANGUAGE plpgsql VOLATILE SECURITY INVOKER
    SET search_path = public, pg_temp
    AS $fn$
    DECLARE
      mine bigint[];
    BEGIN
      SELECT array_agg(q.id ORDER BY q.id) INTO mine FROM (
        SELECT m.id FROM messages m
        WHERE m.id = ANY (p_ids) AND m.status = 'queued' AND m.channel = p_channel
        ORDER BY m.id FOR UPDATE
      ) q;
      IF mine IS NULL THEN
        RETURN;
      END IF;

      PERFORM 1 FROM recipients r
      WHERE r.id IN (SELECT m.recipient_id FROM messages m WHERE m.id = ANY (mine))
      ORDER BY r.id FOR NO KEY UPDATE;

      PERFORM 1 FROM consents c
      JOIN messages m ON m.recipient_id = c.recipient_id AND m.purpose = c.purpose AND m.channel = c.channel
      WHERE m.id = ANY (mine)
      ORDER BY c.recipient_id, c.purpose, c.channel FOR SHARE OF c;

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
      -- quiet hours once per time zone and window of the batch (the function is not inlinable, and
      -- a batch's people share a handful of zones)
      zones AS MATERIALIZED (
        SELECT z.time_zone, z.quiet_start, z.quiet_end,
               consentcast_quiet_until(z.time_zone, z.quiet_start, z.quiet_end, now()) AS quiet_until
        FROM (SELECT DISTINCT m.time_zone, m.quiet_start, m.quiet_end FROM m) z
      ),
      -- each message's verdict before the cap, computed once
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
            WHEN m.campaign_status = 'paused' THEN 'defer:paused'
            WHEN zones.quiet_until IS NOT NULL THEN 'defer:quiet_hours'
            ELSE 'claim'
          END AS pre_decision
        FROM m
        JOIN zones ON zones.time_zone = m.time_zone AND zones.quiet_start = m.quiet_start
          AND zones.quiet_end = m.quiet_end
      ),
      -- the cap: what may already have reached the person, plus the earlier claims of this batch
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
            WHEN k.pre_decision = 'defer:paused' THEN now() + make_interval(secs => p_paused_seconds)
          END AS until
        FROM counted k
      ),
      changed AS (
        UPDATE messages msg SET
          status = CASE WHEN d.decision = 'claim' THEN 'sending' WHEN d.decision LIKE 'skip:%' THEN 'skipped' ELSE 'queued' END,
          skip_reason = CASE WHEN d.decision LIKE 'skip:%' THEN substr(d.decision, 6) END,
          attempts = CASE WHEN d.decision = 'claim' THEN msg.attempts + 1 ELSE msg.attempts END,
          claimed_at = CASE WHEN d.decision = 'claim' THEN now() ELSE msg.claimed_at END,
          lease_expires_at = CASE WHEN d.decision = 'claim' THEN now() + make_interval(secs => p_lease_seconds) END,
          not_before = CASE WHEN d.decision LIKE 'defer:%' THEN d.until ELSE msg.not_before END,
          finished_at = CASE WHEN d.decision LIKE 'skip:%' THEN now() ELSE msg.finished_at END
        FROM decided d
        WHERE msg.id = d.id
        RETURNING msg.id, d.decision, d.until, msg.attempts::integer AS attempts, msg.recipient_id, msg.offer_id
      )
      -- N7: what the channel needs to send a claimed message, and nothing else. Read in the claiming
      -- statement: the people have been locked since step 2, so no change to them can slip in
      -- between this read and the send.
      SELECT ch.id, ch.decision, ch.until, ch.attempts, ch.offer_id, r.locale, r.first_name, r.last_name,
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
  await sql`
    REVOKE ALL ON FUNCTION consentcast_claim(bigint[], text, integer, integer, integer, integer, integer, integer, integer, integer) FROM PUBLIC
  `.execute(db);
  await sql`
    GRANT EXECUTE ON FUNCTION consentcast_claim(bigint[], text, integer, integer, integer, integer, integer, integer, integer, integer) TO consentcast_app
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    DROP FUNCTION consentcast_claim(bigint[], text, integer, integer, integer, integer, integer, integer, integer, integer)
  `.execute(db);
}
