import { type Kysely, sql } from 'kysely';

// Frozen in time: never imports application code.
//
// Withdrawals never lose to a clock (N1, N12, N13; docs/data-model.md, "When a consent change takes
// effect"). A consent change takes effect at the earlier of when it happened (occurred_at, the
// client's or the operator's word) and when the database recorded it (recorded_at, the transaction's
// time); on equal times a withdrawal or lapse beats a grant. Until now the later occurred_at won,
// so a grant from a client whose clock ran two minutes fast beat the unsubscribe made a minute after
// it, stamped with the server's time.
//
// 1. consent_events.effective_at = LEAST(occurred_at, recorded_at), a generated column: the ledger
//    stays append-only and the database, not the writer, computes it.
// 2. consents gains recorded_at (of the event that decided the state; the writers copy it from the
//    event they append) and effective_at, the same generated expression. Every writer's upsert
//    compares (effective_at, status <> 'granted') of the arriving event with the row's.
// 3. Current states that a withdrawal or lapse decides under the new rule, but a grant decided under
//    the old one, are withdrawn now (the rows only: the ledger already holds the events). States the
//    new rule would turn from withdrawn to granted are left withdrawn: a migration does not grant.
// 4. Retention (N11) compares effective times too: an event is past retention when a withdrawal or
//    lapse taking effect at or after it is, so a fast-clock grant goes with the withdrawal that ended
//    it instead of outliving it.

const EXPIRED_0002 = sql`
  CREATE OR REPLACE FUNCTION consentcast_consent_event_expired(e consent_events) RETURNS boolean
  LANGUAGE sql STABLE AS $$
    SELECT EXISTS (
      SELECT 1 FROM consent_events t
      WHERE t.recipient_id = e.recipient_id AND t.purpose = e.purpose AND t.channel = e.channel
        AND t.action IN ('withdraw', 'lapse') AND t.occurred_at >= e.occurred_at
        AND t.retain_until < now()
    )
  $$
`;

const EXPIRED_BY_EFFECT = sql`
  CREATE OR REPLACE FUNCTION consentcast_consent_event_expired(e consent_events) RETURNS boolean
  LANGUAGE sql STABLE AS $$
    SELECT EXISTS (
      SELECT 1 FROM consent_events t
      WHERE t.recipient_id = e.recipient_id AND t.purpose = e.purpose AND t.channel = e.channel
        AND t.action IN ('withdraw', 'lapse') AND t.effective_at >= e.effective_at
        AND t.retain_until < now()
    )
  $$
`;

export async function up(db: Kysely<unknown>): Promise<void> {
  // 1. The ledger. Adding a stored generated column rewrites the table without firing its row
  //    triggers, so the append-only guard is not involved; the evidence itself is unchanged.
  await sql`
    ALTER TABLE consent_events
      ADD COLUMN effective_at timestamptz GENERATED ALWAYS AS (LEAST(occurred_at, recorded_at)) STORED NOT NULL
  `.execute(db);

  // 2. The current state. A row written by the application took its updated_at from the transaction
  //    that recorded its deciding event (both are now()); the event's own stamp is preferred.
  await sql`ALTER TABLE consents ADD COLUMN recorded_at timestamptz`.execute(db);
  await sql`
    UPDATE consents c
    SET recorded_at = coalesce((SELECT e.recorded_at FROM consent_events e WHERE e.id = c.event_id), c.updated_at)
  `.execute(db);
  await sql`ALTER TABLE consents ALTER COLUMN recorded_at SET NOT NULL, ALTER COLUMN recorded_at SET DEFAULT now()`.execute(
    db,
  );
  await sql`
    ALTER TABLE consents
      ADD COLUMN effective_at timestamptz GENERATED ALWAYS AS (LEAST(occurred_at, recorded_at)) STORED NOT NULL
  `.execute(db);

  // 3. Grants in force that a withdrawal or lapse in the ledger outranks under the new rule.
  await sql`
    UPDATE consents c
    SET status = CASE e.action WHEN 'withdraw' THEN 'withdrawn' ELSE 'lapsed' END, source = e.source,
        occurred_at = e.occurred_at, recorded_at = e.recorded_at, event_id = e.id, notice_version = NULL,
        updated_at = now()
    FROM (
      SELECT DISTINCT ON (recipient_id, purpose, channel) *
      FROM consent_events
      WHERE action IN ('withdraw', 'lapse')
      ORDER BY recipient_id, purpose, channel, effective_at DESC, id DESC
    ) e
    WHERE c.status = 'granted' AND e.recipient_id = c.recipient_id AND e.purpose = c.purpose
      AND e.channel = c.channel AND e.effective_at >= c.effective_at
  `.execute(db);

  // 4. Retention.
  await EXPIRED_BY_EFFECT.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await EXPIRED_0002.execute(db);
  // States withdrawn by step 3 stay withdrawn: their events are in the ledger either way.
  await sql`ALTER TABLE consents DROP COLUMN effective_at, DROP COLUMN recorded_at`.execute(db);
  await sql`ALTER TABLE consent_events DROP COLUMN effective_at`.execute(db);
}
