import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pauseCampaign, runCampaignNow } from '../../../src/campaigns/lifecycle.js';
import { type ClaimResult, type ClaimSettings, claimBatch } from '../../../src/delivery/claim.js';
import { emergencyResume, emergencyStop, type StopScope } from '../../../src/ops/emergency-stop.js';
import { openStops } from '../../../src/ops/stops.repository.js';
import { defineCampaign, runInProcess, runNow, submitAndApprove } from '../../support/campaigns.js';
import { waitFor } from '../../support/process.js';
import { seedAudience, seedOffer } from '../../support/seed.js';
import { createTestApp, type TestApp } from '../../support/test-app.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';

/**
 * Issue 12: a claim and an emergency stop (or a pause) order by their commits, whichever step of the
 * claim protocol (src/delivery/claim.ts) the claim is at when the stop comes. A second session holds
 * a lock the claim needs at that step, so the claim waits there; the order of everything else is
 * read from PostgreSQL (pg_stat_activity, pg_blocking_pids) and compared there (microseconds; a JS
 * Date keeps milliseconds). Nothing sleeps.
 */

const OPS = { type: 'operator', id: 'ops-on-call' } as const;

interface Queued {
  readonly id: number;
  readonly campaign_id: number;
  readonly recipient_id: number;
  readonly purpose: string;
}

/** A lock held by a second session (the schema owner's) in an open transaction, until released. */
interface Held {
  readonly pid: number;
  release(): Promise<void>;
}

/** A lock the claim needs at one step, held elsewhere so that the claim waits at that step. */
interface Step {
  readonly step: number;
  readonly what: string;
  readonly lock: (m: Queued) => { text: string; values: unknown[] };
}

const STEPS: readonly Step[] = [
  {
    step: 2,
    what: 'the campaign row, FOR SHARE',
    lock: (m) => ({ text: 'SELECT 1 FROM campaigns WHERE id = $1 FOR UPDATE', values: [m.campaign_id] }),
  },
  {
    step: 3,
    what: 'the message row, FOR UPDATE',
    lock: (m) => ({ text: 'SELECT 1 FROM messages WHERE id = $1 FOR UPDATE', values: [m.id] }),
  },
  {
    step: 4,
    what: 'the person, FOR NO KEY UPDATE',
    lock: (m) => ({ text: 'SELECT 1 FROM recipients WHERE id = $1 FOR UPDATE', values: [m.recipient_id] }),
  },
  {
    step: 5,
    what: 'the consent row, FOR SHARE',
    lock: (m) => ({
      text: `SELECT 1 FROM consents WHERE recipient_id = $1 AND purpose = $2 AND channel = 'email' FOR UPDATE`,
      values: [m.recipient_id, m.purpose],
    }),
  },
];

/** The statements to recognise in pg_stat_activity (each as the product sends it). */
const CLAIM = '%consentcast_claim_0017(%';
const STOP_TAKES_SCOPE = '%from send_stop_scopes where scope = $1 for update%';
const PAUSE_TAKES_CAMPAIGN = '%from "campaigns" where "id" = $1 for update%';
const AUDIT_ENTRY = '%insert into "audit_log"%';

describe('a claim and an emergency stop or a pause order by their commits, at every step of the claim', () => {
  let t: TestDatabase;
  let api: TestApp;
  let settings: ClaimSettings;
  const held: Held[] = [];

  beforeAll(async () => {
    t = await createTestDatabase();
    api = await createTestApp(t);
    await seedAudience(api.deps.db, 80);
    await seedOffer(api.deps.db, { key: 'general', priority: 1 });
    settings = {
      leaseSeconds: 120,
      pausedRetrySeconds: 30,
      policy: { ...api.config.policy, quietHours: { startMinute: 0, endMinute: 0 } },
    };
  });
  afterEach(async () => {
    for (const h of held.splice(0)) await h.release();
    for (const stop of await openStops(api.deps.db))
      await emergencyResume(api.deps, OPS, 'test over', stop.scope);
  });
  afterAll(async () => {
    await api.close();
    await t.drop();
  });

  const db = () => api.deps.db;

  async function hold(lock: { text: string; values: unknown[] }): Promise<Held> {
    const client = new pg.Client({ connectionString: t.ownerUrl });
    await client.connect();
    await client.query('BEGIN');
    await client.query(lock.text, lock.values);
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    let open = true;
    const h: Held = {
      pid: rows[0]?.pid ?? 0,
      async release() {
        if (!open) return;
        open = false;
        await client.query('ROLLBACK');
        await client.end();
      },
    };
    held.push(h);
    return h;
  }

  /** Holds every writer of the audit log: a stop or a pause then waits after its lock, before its commit. */
  const holdAuditLog = () => hold({ text: 'LOCK TABLE audit_log IN SHARE MODE', values: [] });

  /**
   * Waits until a backend running a statement like `pattern` waits for a lock (held by `by`, when
   * given); returns its pid. Read as the application role, which sees its own sessions' statements.
   */
  async function blocked(what: string, pattern: string, by?: number): Promise<number> {
    let pid: number | undefined;
    await waitFor(what, async () => {
      const { rows } = await sql<{ pid: number; blockers: number[] }>`
        SELECT pid, pg_blocking_pids(pid) AS blockers FROM pg_stat_activity
        WHERE datname = current_database() AND wait_event_type = 'Lock' AND query ILIKE ${pattern}
      `.execute(db());
      pid = rows.find((r) => by === undefined || r.blockers.includes(by))?.pid;
      return pid !== undefined;
    });
    if (pid === undefined) throw new Error(`no backend found for ${what}`);
    return pid;
  }

  /** Whether the backend still waits for a lock. */
  async function waiting(pid: number): Promise<boolean> {
    const { rows } = await sql<{ waiting: boolean }>`
      SELECT wait_event_type = 'Lock' AS waiting FROM pg_stat_activity WHERE pid = ${pid}::int
    `.execute(db());
    return rows[0]?.waiting === true;
  }

  /** A queued e-mail message of a new run, for someone never claimed before (so no cap gets in the way). */
  async function queuedEmail(running = false): Promise<Queued> {
    const campaign = await defineCampaign(api.deps, {
      name: `c-${Math.random()}`,
      purpose: 'service_offers',
      channels: ['email'],
      quiet_hours: '00:00-00:00',
      frequency_cap: '4/7d',
    });
    let runId: number;
    if (running) {
      // pauseCampaign needs a running campaign: approved and run through the lifecycle
      await submitAndApprove(api.deps, campaign.id);
      runId = (await runCampaignNow(api.deps, campaign.id, OPS)).runId;
      await runInProcess(api.deps, runId);
    } else {
      runId = (await runNow(api.deps, campaign.id)).runId;
    }
    const { rows } = await sql<Queued>`
      SELECT m.id, m.campaign_id, m.recipient_id, m.purpose FROM messages m
      WHERE m.run_id = ${runId}::bigint AND m.channel = 'email' AND m.status = 'queued'
        AND NOT EXISTS (SELECT 1 FROM messages x WHERE x.recipient_id = m.recipient_id AND x.claimed_at IS NOT NULL)
      ORDER BY m.id LIMIT 1
    `.execute(db());
    const m = rows[0];
    if (!m) throw new Error('no queued e-mail message for someone never claimed');
    return {
      id: Number(m.id),
      campaign_id: Number(m.campaign_id),
      recipient_id: Number(m.recipient_id),
      purpose: m.purpose,
    };
  }

  const claim = (m: Queued): Promise<ClaimResult[]> => claimBatch(api.deps.pool, 'email', [m.id], settings);

  /** The message and the stop of `scope`, compared in PostgreSQL. */
  async function order(m: Queued, scope: StopScope) {
    const { rows } = await sql<{ status: string; claimed: boolean; claimed_before_stop: boolean | null }>`
      SELECT m.status, m.claimed_at IS NOT NULL AS claimed, m.claimed_at < e.stopped_at AS claimed_before_stop
      FROM messages m, emergency_stops e
      WHERE m.id = ${m.id}::bigint AND e.id = (SELECT s.open_stop_id FROM send_stop_scopes s WHERE s.scope = ${scope})
    `.execute(db());
    const row = rows[0];
    if (!row) throw new Error(`no open stop of ${scope}`);
    return row;
  }

  const COVERING: readonly { scope: StopScope; name: string }[] = [
    { scope: 'all', name: 'every channel' },
    { scope: 'email', name: 'e-mail' },
  ];
  for (const { scope, name } of COVERING) {
    describe(`a stop of ${name}`, () => {
      for (const { step, what, lock } of STEPS) {
        it(`that comes while the claim waits at step ${step} (${what}) waits for the claim, which commits first`, async () => {
          const m = await queuedEmail();
          const blocker = await hold(lock(m));
          const claimed = claim(m);
          const claimPid = await blocked('the claim to wait for the held lock', CLAIM, blocker.pid);
          const stopped = emergencyStop(api.deps, OPS, 'drill', scope);
          // the claim holds the scope rows FOR SHARE since step 1: the stop waits for its commit
          await blocked('the stop to wait for the claim', STOP_TAKES_SCOPE, claimPid);
          await blocker.release();
          const [result] = await claimed;
          expect(result?.claim).toEqual({ kind: 'claimed', attempt: 1 });
          expect((await stopped).changed).toBe(true);
          expect(await order(m, scope)).toEqual({
            status: 'sending',
            claimed: true,
            claimed_before_stop: true,
          });
        });
      }

      it('holding its scope row makes a claim that comes wait at step 1 and then defer the message ("stopped")', async () => {
        const m = await queuedEmail();
        const auditLog = await holdAuditLog();
        const stopped = emergencyStop(api.deps, OPS, 'drill', scope);
        // the stop has its scope row and its stopped_at, and waits to write its audit entry
        const stopPid = await blocked('the stop to hold its scope row', AUDIT_ENTRY, auditLog.pid);
        const claimed = claim(m);
        await blocked('the claim to wait for the stop at step 1', CLAIM, stopPid);
        await auditLog.release();
        expect((await stopped).changed).toBe(true);
        const [result] = await claimed;
        expect(result?.claim).toMatchObject({ kind: 'deferred', why: 'stopped' });
        expect(await order(m, scope)).toEqual({
          status: 'queued',
          claimed: false,
          claimed_before_stop: null,
        });
      });
    });
  }

  describe('a stop of SMS does not hold an e-mail claim', () => {
    for (const { step, what, lock } of STEPS) {
      it(`commits while the claim waits at step ${step} (${what}), and the claim then claims`, async () => {
        const m = await queuedEmail();
        const blocker = await hold(lock(m));
        const claimed = claim(m);
        const claimPid = await blocked('the claim to wait for the held lock', CLAIM, blocker.pid);
        expect((await emergencyStop(api.deps, OPS, 'sms drill', 'sms')).changed).toBe(true);
        expect(await waiting(claimPid)).toBe(true);
        await blocker.release();
        const [result] = await claimed;
        expect(result?.claim).toEqual({ kind: 'claimed', attempt: 1 });
        expect(await order(m, 'sms')).toEqual({
          status: 'sending',
          claimed: true,
          claimed_before_stop: false,
        });
      });
    }

    it('a claim at step 1 passes while the SMS stop holds its scope row uncommitted', async () => {
      const m = await queuedEmail();
      const auditLog = await holdAuditLog();
      const stopped = emergencyStop(api.deps, OPS, 'sms drill', 'sms');
      const stopPid = await blocked('the SMS stop to hold its scope row', AUDIT_ENTRY, auditLog.pid);
      const [result] = await claim(m);
      expect(result?.claim).toEqual({ kind: 'claimed', attempt: 1 });
      // the claim answered while the stop still waited, uncommitted
      expect(await waiting(stopPid)).toBe(true);
      await auditLog.release();
      expect((await stopped).changed).toBe(true);
    });
  });

  describe('a pause of the campaign', () => {
    /** The message against its campaign's paused_at (the database clock once the pause held the row). */
    async function pauseOrder(m: Queued) {
      const { rows } = await sql<{ status: string; campaign: string; claimed_before_pause: boolean | null }>`
        SELECT m.status, c.status AS campaign, m.claimed_at < c.paused_at AS claimed_before_pause
        FROM messages m JOIN campaigns c ON c.id = m.campaign_id WHERE m.id = ${m.id}::bigint
      `.execute(db());
      return rows[0];
    }

    it('that comes while the claim waits at step 2 waits for the claim, which commits before paused_at', async () => {
      const m = await queuedEmail(true);
      const step2 = STEPS[0];
      if (step2 === undefined) throw new Error('no step 2');
      const blocker = await hold(step2.lock(m));
      const claimed = claim(m);
      await blocked('the claim to wait at step 2', CLAIM, blocker.pid);
      const paused = pauseCampaign(api.deps, m.campaign_id, OPS, 'check the copy');
      await blocked('the pause to wait for the campaign row', PAUSE_TAKES_CAMPAIGN);
      await blocker.release();
      const [result] = await claimed;
      expect(result?.claim).toEqual({ kind: 'claimed', attempt: 1 });
      expect((await paused).after.status).toBe('paused');
      expect(await pauseOrder(m)).toEqual({
        status: 'sending',
        campaign: 'paused',
        claimed_before_pause: true,
      });
    });

    it('holding the campaign row makes a claim that comes wait at step 2 and then defer the message ("paused")', async () => {
      const m = await queuedEmail(true);
      const auditLog = await holdAuditLog();
      const paused = pauseCampaign(api.deps, m.campaign_id, OPS, 'check the copy');
      const pausePid = await blocked('the pause to hold the campaign row', AUDIT_ENTRY, auditLog.pid);
      const claimed = claim(m);
      await blocked('the claim to wait for the pause at step 2', CLAIM, pausePid);
      await auditLog.release();
      expect((await paused).after.status).toBe('paused');
      const [result] = await claimed;
      expect(result?.claim).toMatchObject({ kind: 'deferred', why: 'paused' });
      expect(await pauseOrder(m)).toEqual({
        status: 'queued',
        campaign: 'paused',
        claimed_before_pause: null,
      });
    });
  });
});
