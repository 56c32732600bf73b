import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { previewCampaign } from '../../../src/campaigns/preview.js';
import { RunBusyError, runCampaign } from '../../../src/campaigns/runner.js';
import { startRun } from '../../../src/campaigns/runs.repository.js';
import { sendQueuesOf } from '../../../src/queue/queues.js';
import { defineCampaign, runNow, runsQueue } from '../../support/campaigns.js';
import { seedAudience, seedOffer, suppressionHash } from '../../support/seed.js';
import { createTestApp, type TestApp } from '../../support/test-app.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';

const N = 3000;
const NEVER_QUIET = '00:00-00:00';

/** What the seed promises (see test/support/seed.ts), as a model of who is reachable on what. */
function reachable(g: number) {
  const restricted = g % 101 === 0;
  return {
    email: !restricted && g % 10 !== 0 && g % 17 !== 0,
    sms: !restricted && g % 4 === 0 && g % 13 !== 0,
    push: !restricted && g % 5 === 0 && g % 3 === 0,
  };
}

describe('a campaign run', () => {
  let t: TestDatabase;
  let api: TestApp;
  let travel: number;
  let general: number;

  beforeAll(async () => {
    t = await createTestDatabase();
    api = await createTestApp(t);
    await seedAudience(api.deps.db, N);
    travel = await seedOffer(api.deps.db, {
      key: 'travel-insurance',
      priority: 10,
      personalised: true,
      eligibility: { interest: 'travel' },
    });
    general = await seedOffer(api.deps.db, { key: 'klix-general', priority: 1 });
  });
  afterAll(async () => {
    await api.close();
    await t.drop();
  });

  const messagesOf = (runId: number) =>
    api.deps.db
      .selectFrom('messages as m')
      .innerJoin('recipients as r', 'r.id', 'm.recipient_id')
      .select(['m.id', 'm.channel', 'm.offer_id', 'm.match', 'm.not_before', 'r.client_number'])
      .where('m.run_id', '=', runId)
      .execute();

  it('messages exactly the consented, reachable people, matches offers, and the preview predicted it', async () => {
    const campaign = await defineCampaign(api.deps, {
      name: 'spring',
      purpose: 'service_offers',
      channels: ['email', 'sms', 'push'],
      quiet_hours: NEVER_QUIET,
      frequency_cap: '4/7d',
    });
    const preview = await previewCampaign(api.deps.db, campaign, api.deps.config, { chunkSize: 700 });
    const { runId, outcome } = await runNow(api.deps, campaign.id);
    expect(outcome).toBe('completed');

    const messages = await messagesOf(runId);
    const got = new Set(messages.map((m) => `${m.client_number}/${m.channel}`));
    const want = new Set<string>();
    for (let g = 1; g <= N; g++) {
      for (const [channel, ok] of Object.entries(reachable(g))) if (ok) want.add(`P${g}/${channel}`);
    }
    expect(got).toEqual(want);
    expect(messages).toHaveLength(want.size);

    // N9: personalised offer only for people who did not object to profiling; the reason is recorded
    for (const m of messages) {
      const g = Number(m.client_number?.slice(1));
      const expected = g % 3 === 0 && g % 29 !== 0 ? travel : general;
      expect(m.offer_id, `P${g}`).toBe(expected);
      expect(m.match).toMatchObject({ offer_id: expected, non_personalised_only: g % 29 === 0 });
    }

    const run = await api.deps.db
      .selectFrom('campaign_runs')
      .selectAll()
      .where('id', '=', runId)
      .executeTakeFirstOrThrow();
    expect(run.funnel).toEqual(preview.funnel);
    expect(preview.funnel.messages).toEqual({
      email: messages.filter((m) => m.channel === 'email').length,
      sms: messages.filter((m) => m.channel === 'sms').length,
      push: messages.filter((m) => m.channel === 'push').length,
    });
    expect(preview.samples.length).toBeGreaterThan(0);

    // who was left out, and why (N8)
    const exclusions = await api.deps.db
      .selectFrom('run_exclusions as x')
      .innerJoin('recipients as r', 'r.id', 'x.recipient_id')
      .select(['r.client_number', 'x.channel', 'x.reason'])
      .where('x.run_id', '=', runId)
      .execute();
    const reasonOf = (g: number, channel: string) =>
      exclusions.find((x) => x.client_number === `P${g}` && x.channel === channel)?.reason;
    expect(reasonOf(101, 'email')).toBe('restricted');
    expect(reasonOf(10, 'email')).toBe('no_consent');
    expect(reasonOf(17, 'email')).toBe('no_contact');
    expect(reasonOf(20 * 13, 'sms')).toBe('no_contact');
    expect(reasonOf(5, 'push')).toBe('no_contact');
    const excludedCount = Object.values(preview.funnel.excluded).reduce(
      (n, byChannel) => n + Object.values(byChannel).reduce((a, b) => a + b, 0),
      0,
    );
    expect(exclusions).toHaveLength(excludedCount);

    // every message is in its channel's queue, and the job carries the id only (N16)
    const queues = sendQueuesOf(api.deps);
    for (const m of messages.slice(0, 200)) {
      const job = await queues[m.channel].getJob(`m${m.id}`);
      expect(job?.data).toEqual({ messageId: m.id });
    }
    const counts = await Promise.all(
      Object.values(queues).map((q) => q.getJobCountByTypes('waiting', 'delayed')),
    );
    expect(counts.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(messages.length);
    const runState = await api.deps.db
      .selectFrom('campaign_runs')
      .select(['status', 'enqueued_through_recipient_id', 'checkpoint_recipient_id'])
      .where('id', '=', runId)
      .executeTakeFirstOrThrow();
    expect(runState.status).toBe('completed');
    expect(runState.enqueued_through_recipient_id).toBe(runState.checkpoint_recipient_id);
  });

  it('with the `first` strategy sends on the first reachable channel only, and skips suppressed addresses', async () => {
    await api.deps.db
      .insertInto('suppressions')
      .values({
        channel: 'email',
        address_hash: suppressionHash('p1@example.lv'),
        reason: 'hard_bounce',
        source: 'test',
      })
      .execute();
    const campaign = await defineCampaign(api.deps, {
      name: 'first-only',
      purpose: 'service_offers',
      channels: ['push', 'email', 'sms'],
      channel_strategy: 'first',
      quiet_hours: NEVER_QUIET,
      frequency_cap: '4/7d',
    });
    const { runId } = await runNow(api.deps, campaign.id);
    const messages = await messagesOf(runId);
    const byPerson = new Map<string, string[]>();
    for (const m of messages)
      byPerson.set(m.client_number ?? '', [...(byPerson.get(m.client_number ?? '') ?? []), m.channel]);
    for (const [person, channels] of byPerson) {
      const g = Number(person.slice(1));
      const r = reachable(g);
      const first = r.push ? 'push' : r.email && g !== 1 ? 'email' : 'sms';
      expect(channels, person).toEqual([first]);
    }
    const suppressed = await api.deps.db
      .selectFrom('run_exclusions as x')
      .innerJoin('recipients as r', 'r.id', 'x.recipient_id')
      .select('x.reason')
      .where('x.run_id', '=', runId)
      .where('r.client_number', '=', 'P1')
      .where('x.channel', '=', 'email')
      .executeTakeFirst();
    expect(suppressed?.reason).toBe('suppressed');
  });

  it('holds the frequency cap across campaigns and channels (N15)', async () => {
    const campaign = await defineCampaign(api.deps, {
      name: 'capped',
      purpose: 'service_offers',
      channels: ['email', 'sms'],
      quiet_hours: NEVER_QUIET,
      frequency_cap: '1/7d',
    });
    // P4 and P8 were sent a message of this purpose yesterday; P12 one of another purpose
    const prior = await defineCampaign(api.deps, {
      name: 'prior',
      purpose: 'service_offers',
      channels: ['email'],
    });
    const { runId: priorRun } = await runNow(api.deps, prior.id);
    await api.deps.db
      .updateTable('messages')
      .set({
        status: 'sent',
        claimed_at: sql<Date>`now() - interval '1 day'`,
        sent_at: sql<Date>`now() - interval '1 day'`,
      })
      .where('run_id', '=', priorRun)
      .where('recipient_id', 'in', (eb) =>
        eb.selectFrom('recipients').select('id').where('client_number', 'in', ['P4', 'P8']),
      )
      .execute();
    const { runId } = await runNow(api.deps, campaign.id);
    const messages = await messagesOf(runId);
    const channelsOf = (p: string) => messages.filter((m) => m.client_number === p).map((m) => m.channel);
    expect(channelsOf('P4')).toEqual([]);
    expect(channelsOf('P8')).toEqual([]);
    // a cap of one per week: P12 is reachable on e-mail and SMS, but gets only the first
    expect(channelsOf('P12')).toEqual(['email']);
    const reasons = await api.deps.db
      .selectFrom('run_exclusions as x')
      .innerJoin('recipients as r', 'r.id', 'x.recipient_id')
      .select(['r.client_number', 'x.channel', 'x.reason'])
      .where('x.run_id', '=', runId)
      .where('r.client_number', 'in', ['P4', 'P12'])
      .orderBy('r.client_number')
      .orderBy('x.channel')
      .execute();
    expect(reasons).toEqual([
      { client_number: 'P12', channel: 'sms', reason: 'frequency_cap' },
      { client_number: 'P4', channel: 'email', reason: 'frequency_cap' },
      { client_number: 'P4', channel: 'sms', reason: 'frequency_cap' },
    ]);
  });

  it('delays messages of people inside their quiet hours until the hours end, in their own time zone', async () => {
    const riga = new Intl.DateTimeFormat('en-GB', {
      timeZone: 'Europe/Riga',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    })
      .format(new Date())
      .split(':')
      .map(Number);
    const minute = (riga[0] ?? 0) * 60 + (riga[1] ?? 0);
    const fmt = (m: number) =>
      `${String(Math.floor(((m + 1440) % 1440) / 60)).padStart(2, '0')}:${String((m + 1440) % 60).padStart(2, '0')}`;
    const campaign = await defineCampaign(api.deps, {
      name: 'quiet',
      purpose: 'service_offers',
      channels: ['email'],
      quiet_hours: `${fmt(minute - 30)}-${fmt(minute + 90)}`,
      frequency_cap: '4/7d',
    });
    const { runId } = await runNow(api.deps, campaign.id);
    const messages = await messagesOf(runId);
    expect(messages.length).toBeGreaterThan(0);
    for (const m of messages.slice(0, 50)) {
      const wait = (m.not_before?.getTime() ?? 0) - Date.now();
      expect(wait).toBeGreaterThan(80 * 60_000);
      expect(wait).toBeLessThanOrEqual(90 * 60_000);
      const job = await sendQueuesOf(api.deps).email.getJob(`m${m.id}`);
      expect(await job?.getState()).toBe('delayed');
    }
  });

  it('runs an offer only up to its send cap, across chunks', async () => {
    const capped = await seedOffer(api.deps.db, {
      key: 'limited',
      purpose: 'contests',
      priority: 5,
      sendCapTotal: 7,
    });
    const fallback = await seedOffer(api.deps.db, {
      key: 'contest-fallback',
      purpose: 'contests',
      priority: 0,
    });
    await sql`
      INSERT INTO consents (recipient_id, purpose, channel, status, source, occurred_at, notice_version)
      SELECT id, 'contests', 'email', 'granted', 'import', now(), '2022-03-01' FROM recipients WHERE email IS NOT NULL AND id <= 300
    `.execute(api.deps.db);
    const campaign = await defineCampaign(api.deps, {
      name: 'contest',
      purpose: 'contests',
      channels: ['email'],
      quiet_hours: NEVER_QUIET,
      frequency_cap: '4/7d',
    });
    const { runId } = await runNow(api.deps, campaign.id, { chunkSize: 100 });
    const byOffer = await api.deps.db
      .selectFrom('messages')
      .select(['offer_id', sql<number>`count(*)::int`.as('n')])
      .where('run_id', '=', runId)
      .groupBy('offer_id')
      .execute();
    expect(byOffer.find((o) => o.offer_id === capped)?.n).toBe(7);
    expect(byOffer.find((o) => o.offer_id === fallback)?.n).toBeGreaterThan(100);
  });

  it('never assigns an offer to a channel it has no content for', async () => {
    await seedOffer(api.deps.db, { key: 'push-only', purpose: 'feedback', priority: 9, channels: ['push'] });
    const emailOffer = await seedOffer(api.deps.db, {
      key: 'email-only',
      purpose: 'feedback',
      priority: 1,
      channels: ['email'],
    });
    await sql`
      INSERT INTO consents (recipient_id, purpose, channel, status, source, occurred_at, notice_version)
      SELECT id, 'feedback', 'email', 'granted', 'import', now(), '2022-03-01' FROM recipients WHERE email IS NOT NULL AND id <= 50
    `.execute(api.deps.db);
    const campaign = await defineCampaign(api.deps, {
      name: 'feedback',
      purpose: 'feedback',
      channels: ['email'],
      quiet_hours: NEVER_QUIET,
      frequency_cap: '4/7d',
    });
    const { runId } = await runNow(api.deps, campaign.id);
    const offers = await api.deps.db
      .selectFrom('messages')
      .select('offer_id')
      .distinct()
      .where('run_id', '=', runId)
      .execute();
    // the higher-priority offer has no e-mail content: the e-mail offer is chosen instead
    expect(offers).toEqual([{ offer_id: emailOffer }]);
  });

  it('tolerates two runners at once: the second waits, and a finished run is not done again', async () => {
    const campaign = await defineCampaign(api.deps, {
      name: 'twice',
      purpose: 'service_offers',
      channels: ['sms'],
      quiet_hours: NEVER_QUIET,
    });
    const { runId } = await startRun(api.deps.db, runsQueue(api.deps), {
      campaignId: campaign.id,
      trigger: 'manual',
      occurrenceKey: 'twice',
    });
    const runnerDeps = {
      db: api.deps.db,
      logger: api.deps.logger,
      config: api.deps.config,
      sendQueues: sendQueuesOf(api.deps),
    };
    const results = await Promise.allSettled([
      runCampaign(runnerDeps, runId, { owner: 'runner-a', chunkSize: 200, leaseMs: 30_000 }),
      runCampaign(runnerDeps, runId, { owner: 'runner-b', chunkSize: 200, leaseMs: 30_000 }),
    ]);
    const fulfilled = results.filter((r) => r.status === 'fulfilled');
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(fulfilled).toHaveLength(1);
    expect(rejected[0]?.reason).toBeInstanceOf(RunBusyError);
    expect(await runCampaign(runnerDeps, runId, { owner: 'runner-c', chunkSize: 200, leaseMs: 30_000 })).toBe(
      'already_finished',
    );
    const dup = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM (SELECT recipient_id, channel FROM messages WHERE run_id = ${runId} GROUP BY 1, 2 HAVING count(*) > 1) d
    `.execute(api.deps.db);
    expect(dup.rows[0]?.n).toBe(0);
  });
});
