import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM } from '../../../src/auth/actor.js';
import { recordConsentChanges } from '../../../src/consent/ledger.js';
import { type ClaimSettings, claimMessages } from '../../../src/delivery/claim.js';
import { defineCampaign, runNow } from '../../support/campaigns.js';
import { waitFor } from '../../support/process.js';
import { seedAudience, seedOffer } from '../../support/seed.js';
import { createTestApp, type TestApp } from '../../support/test-app.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';

describe('claiming a message just before sending', () => {
  let t: TestDatabase;
  let api: TestApp;
  let settings: ClaimSettings;

  beforeAll(async () => {
    t = await createTestDatabase();
    api = await createTestApp(t);
    await seedAudience(api.deps.db, 400);
    await seedOffer(api.deps.db, { key: 'general', priority: 1 });
    settings = {
      leaseSeconds: 120,
      pausedRetrySeconds: 30,
      policy: { ...api.config.policy, quietHours: { startMinute: 0, endMinute: 0 } },
    };
  });
  afterAll(async () => {
    await api.close();
    await t.drop();
  });

  async function queuedRun(channels: ('email' | 'sms' | 'push')[], cap = '4/7d') {
    const campaign = await defineCampaign(api.deps, {
      name: `c-${Math.random()}`,
      purpose: 'service_offers',
      channels,
      quiet_hours: '00:00-00:00',
      frequency_cap: cap,
    });
    const { runId } = await runNow(api.deps, campaign.id);
    return { campaign, runId };
  }

  const messageOf = (runId: number, client: string, channel: 'email' | 'sms' | 'push') =>
    api.deps.db
      .selectFrom('messages as m')
      .innerJoin('recipients as r', 'r.id', 'm.recipient_id')
      .select(['m.id', 'm.recipient_id', 'm.status', 'm.skip_reason'])
      .where('m.run_id', '=', runId)
      .where('r.client_number', '=', client)
      .where('m.channel', '=', channel)
      .executeTakeFirstOrThrow();

  it('skips a message whose consent was withdrawn by a transaction that committed while the claim waited on it', async () => {
    const { runId } = await queuedRun(['email']);
    const message = await messageOf(runId, 'P1', 'email');
    let claim: Promise<unknown> | undefined;
    await api.deps.db.transaction().execute(async (trx) => {
      await recordConsentChanges(trx, api.config.pseudonymSecret, {
        recipientId: message.recipient_id,
        changes: [
          { purpose: 'service_offers', channel: 'email', action: 'withdraw', occurredAt: new Date() },
        ],
        source: 'app',
        actor: SYSTEM,
        evidence: {},
      });
      // the claim starts while the withdrawal is written but not committed, and must wait for it
      claim = claimMessages(api.deps.pool, 'email', [message.id], settings);
      await waitFor('the claim to wait on the consent row', async () => {
        const { rows } = await sql<{ n: number }>`
          SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'
        `.execute(api.deps.db);
        return (rows[0]?.n ?? 0) > 0;
      });
    });
    expect(await claim).toEqual([{ kind: 'skipped', reason: 'consent_withdrawn' }]);
    expect(await messageOf(runId, 'P1', 'email')).toMatchObject({
      status: 'skipped',
      skip_reason: 'consent_withdrawn',
    });
  });

  it('claims a message once: the same id twice, and a second claim later, find nothing to claim', async () => {
    const { runId } = await queuedRun(['email']);
    const message = await messageOf(runId, 'P2', 'email');
    const [first, second] = await Promise.all([
      claimMessages(api.deps.pool, 'email', [message.id], settings),
      claimMessages(api.deps.pool, 'email', [message.id], settings),
    ]);
    const outcomes = [...(first ?? []), ...(second ?? [])].map((o) => o.kind).sort();
    expect(outcomes).toEqual(['claimed', 'not_queued']);
    const outcomesOfOneBatch = await claimMessages(api.deps.pool, 'email', [message.id], settings);
    expect(outcomesOfOneBatch.map((o) => o.kind)).toEqual(['not_queued']);
  });

  it('gives one claim to a message that appears twice in one batch (duplicate jobs of one worker)', async () => {
    const { runId } = await queuedRun(['email']);
    const message = await messageOf(runId, 'P5', 'email');
    const outcomes = await claimMessages(
      api.deps.pool,
      'email',
      [message.id, message.id, message.id],
      settings,
    );
    expect(outcomes.map((o) => o.kind)).toEqual(['claimed', 'not_queued', 'not_queued']);
    expect(await claimMessages(api.deps.pool, 'email', [message.id], settings)).toEqual([
      { kind: 'not_queued' },
    ]);
  });

  it('lets two channels claimed at once for one person pass a cap of one only once (N15)', async () => {
    // P12 is reachable on e-mail and SMS; the run's own cap allows both, the claim's cap allows one
    const { runId } = await queuedRun(['email', 'sms']);
    const email = await messageOf(runId, 'P12', 'email');
    const sms = await messageOf(runId, 'P12', 'sms');
    const oneAWeek = {
      ...settings,
      policy: { ...settings.policy, frequencyCap: { max: 1, windowHours: 168 } },
    };
    await api.deps.db
      .updateTable('campaigns')
      .set({ frequency_cap_max: null, frequency_cap_window_hours: null })
      .execute();
    const [a, b] = await Promise.all([
      claimMessages(api.deps.pool, 'email', [email.id], oneAWeek),
      claimMessages(api.deps.pool, 'sms', [sms.id], oneAWeek),
    ]);
    const kinds = [a?.[0], b?.[0]]
      .map((o) => (o?.kind === 'skipped' ? `skipped:${o.reason}` : o?.kind))
      .sort();
    expect(kinds).toEqual(['claimed', 'skipped:frequency_cap']);
  });

  it('counts an indeterminate message towards the cap until an operator resolves it as not sent (N15)', async () => {
    const oneAWeek = {
      ...settings,
      policy: { ...settings.policy, frequencyCap: { max: 1, windowHours: 168 } },
    };
    const runs = [await queuedRun(['email']), await queuedRun(['email']), await queuedRun(['email'])];
    await api.deps.db
      .updateTable('campaigns')
      .set({ frequency_cap_max: null, frequency_cap_window_hours: null })
      .execute();
    // someone no other test touches, with an e-mail message in each of the three runs
    const person = await api.deps.db
      .selectFrom('messages as m')
      .innerJoin('recipients as r', 'r.id', 'm.recipient_id')
      .select('r.client_number')
      .where(
        'm.run_id',
        'in',
        runs.map((r) => r.runId),
      )
      .where('m.channel', '=', 'email')
      .where('r.client_number', 'is not', null)
      .groupBy('r.client_number')
      .having((eb) => eb.fn.countAll(), '=', 3)
      .orderBy('r.client_number', 'desc')
      .executeTakeFirstOrThrow();
    const [first, second, third] = await Promise.all(
      runs.map((r) => messageOf(r.runId, person.client_number ?? '', 'email')),
    );
    if (!first || !second || !third) throw new Error('expected three messages');
    expect(await claimMessages(api.deps.pool, 'email', [first.id], oneAWeek)).toEqual([
      { kind: 'claimed', attempt: 1 },
    ]);
    // its worker died after the provider may have taken it: the reconciler's verdict
    await api.deps.db
      .updateTable('messages')
      .set({
        status: 'indeterminate',
        lease_expires_at: null,
        finished_at: new Date(),
        error_code: 'lease_expired',
      })
      .where('id', '=', first.id)
      .execute();
    expect(await claimMessages(api.deps.pool, 'email', [second.id], oneAWeek)).toEqual([
      { kind: 'skipped', reason: 'frequency_cap' },
    ]);
    // the provider confirms it never had it
    await api.deps.db
      .updateTable('messages')
      .set({ resolution: 'not_sent', resolved_by: 'operator:test' })
      .where('id', '=', first.id)
      .execute();
    expect(await claimMessages(api.deps.pool, 'email', [third.id], oneAWeek)).toEqual([
      { kind: 'claimed', attempt: 1 },
    ]);
  });

  it('skips messages of a cancelled campaign and defers those inside quiet hours', async () => {
    const { campaign, runId } = await queuedRun(['email']);
    const m3 = await messageOf(runId, 'P3', 'email');
    const quiet = {
      ...settings,
      policy: { ...settings.policy, quietHours: { startMinute: 0, endMinute: 1439 } },
    };
    await api.deps.db
      .updateTable('campaigns')
      .set({ quiet_start_minute: null, quiet_end_minute: null })
      .where('id', '=', campaign.id)
      .execute();
    const [deferred] = await claimMessages(api.deps.pool, 'email', [m3.id], quiet);
    expect(deferred?.kind).toBe('deferred');
    expect(await messageOf(runId, 'P3', 'email')).toMatchObject({ status: 'queued' });

    await api.deps.db
      .updateTable('campaigns')
      .set({ status: 'cancelled' })
      .where('id', '=', campaign.id)
      .execute();
    expect(await claimMessages(api.deps.pool, 'email', [m3.id], settings)).toEqual([
      { kind: 'skipped', reason: 'campaign_cancelled' },
    ]);
  });
});
