import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';

// Migration 0016: quiet hours as one inlinable expression, and the claim's first step driven by the
// batch's ids. Both are about speed; these tests hold that nothing else changed.

// 0007's definition, word for word, as a reference function of this test's own.
const QUIET_UNTIL_0007 = `
  CREATE FUNCTION pg_temp.quiet_until_0007(tz text, start_minute integer, end_minute integer, at timestamptz)
  RETURNS timestamptz LANGUAGE sql STABLE AS $$
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
  $$`;

describe('delivery statements after migration 0016', () => {
  let t: TestDatabase;
  let owner: pg.Client;

  beforeAll(async () => {
    t = await createTestDatabase();
    owner = new pg.Client({ connectionString: t.ownerUrl });
    await owner.connect();
  });
  afterAll(async () => {
    await owner.end();
    await t.drop();
  });

  it('consentcast_quiet_until gives 0007 answer for every zone, window and instant tried (DST days included)', async () => {
    await owner.query(QUIET_UNTIL_0007);
    // every 17 minutes over the days around both 2026 DST changes in Riga, and around midnight
    // and the date line elsewhere; windows across midnight, within a day, empty, and NULL
    const { rows } = await owner.query<{ checked: number; differing: number; quiet: number }>(`
      WITH instants AS (
        SELECT g AS at FROM generate_series('2026-03-28 00:00+00'::timestamptz, '2026-03-30 00:00+00', interval '17 minutes') g
        UNION ALL
        SELECT g FROM generate_series('2026-10-24 00:00+00'::timestamptz, '2026-10-26 00:00+00', interval '17 minutes') g
      ),
      zones(tz) AS (VALUES ('Europe/Riga'), ('UTC'), ('America/New_York'), ('Pacific/Kiritimati'), ('Asia/Kolkata')),
      windows(s, e) AS (VALUES (1260, 480), (480, 1260), (0, 0), (1380, 60), (600, 601), (NULL::int, 480), (0, 1439))
      SELECT count(*)::int AS checked,
             count(*) FILTER (WHERE consentcast_quiet_until(tz, s, e, at) IS DISTINCT FROM pg_temp.quiet_until_0007(tz, s, e, at))::int AS differing,
             count(*) FILTER (WHERE consentcast_quiet_until(tz, s, e, at) IS NOT NULL)::int AS quiet
      FROM instants, zones, windows`);
    expect(rows[0]?.checked).toBeGreaterThan(10_000);
    expect(rows[0]?.quiet).toBeGreaterThan(1_000);
    expect(rows[0]?.differing).toBe(0);
  });

  it('PostgreSQL inlines it (no function call left in the plan)', async () => {
    const { rows } = await owner.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN (VERBOSE, COSTS OFF) SELECT consentcast_quiet_until(tz, 1260, 480, now()) FROM (VALUES ('Europe/Riga')) v(tz)`,
    );
    const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
    expect(plan).toMatch(/EXTRACT\(hour/i);
    expect(plan).not.toMatch(/consentcast_quiet_until/);
  });

  it("the claim's first step finds a batch by id even when the statistics say nothing is queued", async () => {
    // With sequential scans off the planner picks the cheapest index; the status index
    // (status, id) matches 0015's predicate better than the primary key does, and stale statistics
    // make it look cheap in production. Written by 0016, only the primary key can serve it.
    const { rows: fn } = await owner.query<{ def: string }>(
      `SELECT pg_get_functiondef('consentcast_claim_0017(bigint[], text, integer, integer, integer, integer, integer, integer, integer, integer)'::regprocedure) AS def`,
    );
    const step = /SELECT m\.id FROM messages m\s+(WHERE[^\n]*)\s+ORDER BY m\.id FOR UPDATE/.exec(
      fn[0]?.def ?? '',
    );
    expect(step?.[1]).toContain('IS TRUE');
    await owner.query('SET enable_seqscan = off');
    const { rows } = await owner.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN (COSTS OFF) SELECT m.id FROM messages m
       ${step?.[1]?.replace(/p_ids/g, `'{1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30}'::bigint[]`).replace(/p_channel/g, `'email'`)}
       ORDER BY m.id FOR UPDATE`,
    );
    const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
    expect(plan).toMatch(/messages_pkey/);
    expect(plan).not.toMatch(/messages_in_flight|messages_by_campaign/);
  });
});
