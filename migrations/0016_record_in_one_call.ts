import { type Kysely, sql } from 'kysely';

// Frozen in time: never imports application code.
//
// Three changes to the channel workers' per-batch statements, each measured (docs/benchmarks.md,
// delivery-pipeline, "2026-12-04, session 3"):
//
// 1. The record of a batch's outcomes (src/delivery/record.ts) becomes a function,
//    `consentcast_record`. Sent as a statement, it was parsed and planned on every call (its plan
//    took ≈ 0.4-0.6 ms, more than its execution for a batch of 30); a PL/pgSQL function keeps its
//    plan for the session. Same statement, same transition rules.
// 2. `consentcast_quiet_until` (0007) becomes a single expression, which PostgreSQL inlines into the
//    calling query. As a function with a FROM clause it could not be inlined, and a SQL function
//    that is not inlined is planned again on every call (≈ 0.15 ms per claim batch). Same result for
//    every input: a test holds it to 0007's definition over time zones, DST changes and windows.
// 3. The claim's first step finds its messages by id whatever the statistics say. Its
//    `status = 'queued'` test could drive the plan from the `messages_in_flight` index when the
//    statistics were taken while few messages were queued (the outbox changes faster than
//    autovacuum analyses it): it then read every queued message of the outbox to find the batch's
//    (4.8 ms for a batch of 30 in a 10,000-message outbox). The record had the same fault (fixed in
//    the application's statement before this migration).

const RECORD_SIGNATURE = sql`consentcast_record(bigint[], text[], text[], text[], text[], text[])`;
const CLAIM_SIGNATURE =
  'consentcast_claim(bigint[], text, integer, integer, integer, integer, integer, integer, integer, integer)';

const QUIET_UNTIL_EXPRESSION = sql`
  CREATE OR REPLACE FUNCTION consentcast_quiet_until(tz text, start_minute integer, end_minute integer, at timestamptz)
  RETURNS timestamptz LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE
      WHEN start_minute IS NULL OR end_minute IS NULL OR start_minute = end_minute THEN NULL
      WHEN start_minute < end_minute
        AND (extract(hour FROM at AT TIME ZONE tz) * 60 + extract(minute FROM at AT TIME ZONE tz))::integer >= start_minute
        AND (extract(hour FROM at AT TIME ZONE tz) * 60 + extract(minute FROM at AT TIME ZONE tz))::integer < end_minute
        THEN (date_trunc('day', at AT TIME ZONE tz) + make_interval(mins => end_minute)) AT TIME ZONE tz
      WHEN start_minute > end_minute
        AND (extract(hour FROM at AT TIME ZONE tz) * 60 + extract(minute FROM at AT TIME ZONE tz))::integer >= start_minute
        THEN (date_trunc('day', at AT TIME ZONE tz) + interval '1 day' + make_interval(mins => end_minute)) AT TIME ZONE tz
      WHEN start_minute > end_minute
        AND (extract(hour FROM at AT TIME ZONE tz) * 60 + extract(minute FROM at AT TIME ZONE tz))::integer < end_minute
        THEN (date_trunc('day', at AT TIME ZONE tz) + make_interval(mins => end_minute)) AT TIME ZONE tz
      ELSE NULL
    END
  $$
`;

// 0007's definition, restored by `down`.
const QUIET_UNTIL_0007 = sql`
  CREATE OR REPLACE FUNCTION consentcast_quiet_until(tz text, start_minute integer, end_minute integer, at timestamptz)
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
`;

/** Step 1 of the claim, as 0015 wrote it and as this migration writes it. */
const LOCK_STEP_0015 = `WHERE m.id = ANY (p_ids) AND m.status = 'queued' AND m.channel = p_channel`;
const LOCK_STEP_BY_ID = `WHERE m.id = ANY (p_ids) AND (m.status = 'queued' AND m.channel = p_channel) IS TRUE`;

/** Rewrites the claim function's step 1 in place (the rest of its body is 0015's, unchanged). */
async function replaceLockStep(db: Kysely<unknown>, from: string, to: string): Promise<void> {
  const { rows } = await sql<{ body: string }>`
    SELECT pg_get_functiondef(${CLAIM_SIGNATURE}::regprocedure) AS body
  `.execute(db);
  const body = rows[0]?.body;
  if (body === undefined || body.split(from).length !== 2) {
    throw new Error('consentcast_claim does not hold the statement this migration rewrites');
  }
  await sql.raw(body.replace(from, to)).execute(db);
}

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE FUNCTION consentcast_record(
      p_ids bigint[], p_statuses text[], p_provider_ids text[], p_codes text[], p_details text[], p_suppress text[]
    ) RETURNS TABLE (message_id bigint)
    LANGUAGE plpgsql VOLATILE SECURITY INVOKER
    SET search_path = public, pg_temp
    AS $fn$
    BEGIN
      -- The transition, its event, and the suppression a hard bounce or an invalid number calls for
      -- (a keyed hash, N15), in one statement. Only a message the worker holds changes: \`sending\`,
      -- or \`indeterminate\` because the reconciler gave up on its lease meanwhile.
      RETURN QUERY
      WITH u AS (
        UPDATE messages m SET
          status = u.status,
          provider_message_id = COALESCE(u.provider_id, m.provider_message_id),
          error_code = u.code,
          error_detail = u.detail,
          sent_at = CASE WHEN u.status = 'sent' THEN now() ELSE m.sent_at END,
          finished_at = CASE WHEN u.status = 'queued' THEN NULL ELSE now() END,
          claimed_at = CASE WHEN u.status = 'queued' THEN NULL ELSE m.claimed_at END,
          lease_expires_at = NULL
        FROM unnest(p_ids, p_statuses, p_provider_ids, p_codes, p_details, p_suppress)
             AS u(id, status, provider_id, code, detail, suppress)
        -- The ids drive the join (a primary-key look-up each): written so, no index on status can
        -- drive it when the statistics are stale (it compared every in-flight message with every id).
        WHERE m.id = u.id AND (m.status IN ('sending', 'indeterminate') AND m.resolution IS NULL) IS TRUE
        RETURNING m.id, m.recipient_id, m.channel, m.status, u.suppress
      ),
      events AS (
        INSERT INTO message_events (message_id, type, provider_event_id)
        SELECT u.id, u.status, 'worker' FROM u WHERE u.status <> 'queued'
        ON CONFLICT DO NOTHING
      ),
      suppressed AS (
        INSERT INTO suppressions (channel, address_hash, reason, source)
        SELECT DISTINCT u.channel, CASE u.channel WHEN 'email' THEN r.email_hash ELSE r.phone_hash END, u.suppress, 'provider'
        FROM u JOIN recipients r ON r.id = u.recipient_id
        WHERE u.suppress IS NOT NULL
          AND CASE u.channel WHEN 'email' THEN r.email_hash ELSE r.phone_hash END IS NOT NULL
        ON CONFLICT DO NOTHING
      )
      SELECT u.id FROM u;
    END
    $fn$
  `.execute(db);
  await sql`REVOKE ALL ON FUNCTION ${RECORD_SIGNATURE} FROM PUBLIC`.execute(db);
  await sql`GRANT EXECUTE ON FUNCTION ${RECORD_SIGNATURE} TO consentcast_app`.execute(db);
  await QUIET_UNTIL_EXPRESSION.execute(db);
  await replaceLockStep(db, LOCK_STEP_0015, LOCK_STEP_BY_ID);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await replaceLockStep(db, LOCK_STEP_BY_ID, LOCK_STEP_0015);
  await QUIET_UNTIL_0007.execute(db);
  await sql`DROP FUNCTION ${RECORD_SIGNATURE}`.execute(db);
}
