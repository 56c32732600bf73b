import { Redis } from 'ioredis';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { cancelCampaign, scheduleCampaign } from '../../../src/campaigns/lifecycle.js';
import { CAMPAIGN_SCHEDULES_QUEUE } from '../../../src/queue/names.js';
import { defineCampaign, submitAndApprove } from '../../support/campaigns.js';
import { type RunningRole, waitFor } from '../../support/process.js';
import { seedAudience, seedOffer } from '../../support/seed.js';
import { type Stack, startStack } from '../../support/stack.js';

const OPERATOR = { type: 'operator', id: 'test' } as const;

describe('scheduled campaigns with real scheduler, runner and e-mail worker processes', () => {
  let s: Stack;
  let scheduler: RunningRole;
  let emailWorker: RunningRole;

  beforeAll(async () => {
    s = await startStack();
    await seedAudience(s.api.deps.db, 60);
    await seedAudience(s.api.deps.db, 30, 'contests', 'Q');
    await seedOffer(s.api.deps.db, { key: 'general' });
    await seedOffer(s.api.deps.db, { key: 'contest', purpose: 'contests' });
    scheduler = s.start('scheduler');
    s.start('campaign-runner');
    emailWorker = s.start('email');
  });
  afterAll(() => s.close());

  const db = () => s.api.deps.db;
  const runsOf = (campaignId: number) =>
    db()
      .selectFrom('campaign_runs')
      .select(['id', 'status', 'trigger', 'occurrence_key', 'created_at'])
      .where('campaign_id', '=', campaignId)
      .orderBy('id')
      .execute();
  const schedules = () => {
    const q = s.api.deps.queues.get(CAMPAIGN_SCHEDULES_QUEUE);
    if (!q) throw new Error('no schedules queue');
    return q;
  };

  it('every few seconds: a run per occurrence, the frequency cap holds across runs (counted at the fake SMTP), a restarted scheduler re-creates what Redis lost, cancel stops it all', async () => {
    // A: e-mail, at most one message per person a week, every 2 s (N15 across runs)
    const a = await defineCampaign(s.api.deps, {
      name: 'every 2s',
      purpose: 'service_offers',
      channels: ['email'],
      frequency_cap: '1/7d',
    });
    await submitAndApprove(s.api.deps, a.id);
    await scheduleCampaign(s.api.deps, a.id, { kind: 'every', everySeconds: 2 }, OPERATOR);
    await waitFor(
      'three completed scheduled runs of A',
      async () => (await runsOf(a.id)).filter((r) => r.status === 'completed').length >= 3,
      60_000,
    );
    const runs = await runsOf(a.id);
    expect(runs.every((r) => r.trigger === 'schedule')).toBe(true);
    expect(new Set(runs.map((r) => r.occurrence_key)).size).toBe(runs.length);

    // each person got A's e-mail once, whatever the number of runs
    const eligible = await db()
      .selectFrom('messages')
      .select(sql<number>`count(DISTINCT recipient_id)::int`.as('n'))
      .where('campaign_id', '=', a.id)
      .executeTakeFirstOrThrow();
    await waitFor("A's first messages to be sent", async () => {
      const open = await db()
        .selectFrom('messages')
        .select('id')
        .where('campaign_id', '=', a.id)
        .where('status', 'in', ['queued', 'sending'])
        .execute();
      return open.length === 0;
    });
    const perAddress = new Map<string, number>();
    for (const d of s.fakes.log.entries({ channel: 'email' }).filter((x) => x.delivered))
      perAddress.set(d.to, (perAddress.get(d.to) ?? 0) + 1);
    expect(eligible.n).toBeGreaterThan(30);
    expect(perAddress.size).toBe(eligible.n);
    expect([...perAddress.values()].every((n) => n === 1)).toBe(true);
    // later runs left them out for the cap (in planning, or at the worker's claim)
    const capped = await sql<{ n: number }>`
      SELECT (SELECT count(*) FROM run_exclusions x JOIN campaign_runs r ON r.id = x.run_id
              WHERE r.campaign_id = ${a.id}::bigint AND x.reason = 'frequency_cap')
           + (SELECT count(*) FROM messages WHERE campaign_id = ${a.id}::bigint AND skip_reason = 'frequency_cap') AS n
    `.execute(db());
    expect(Number(capped.rows[0]?.n)).toBeGreaterThan(0);

    // B: queued messages that no worker takes, then cancelled
    expect(await s.stop(emailWorker)).toBe(0);
    const b = await defineCampaign(s.api.deps, {
      name: 'cancel me',
      purpose: 'contests',
      channels: ['email'],
      frequency_cap: '4/7d',
    });
    await submitAndApprove(s.api.deps, b.id);
    await scheduleCampaign(s.api.deps, b.id, { kind: 'every', everySeconds: 2 }, OPERATOR);
    await waitFor(
      'a run of B with queued messages',
      async () =>
        (await db()
          .selectFrom('messages')
          .select('id')
          .where('campaign_id', '=', b.id)
          .where('status', '=', 'queued')
          .executeTakeFirst()) !== undefined,
      30_000,
    );
    const cancelled = await cancelCampaign(s.api.deps, b.id, OPERATOR, 'test');
    expect(cancelled.skipped).toBeGreaterThan(0);
    expect(await schedules().getJobScheduler(`campaign-${b.id}`)).toBeUndefined();
    await waitFor("B's runs to stop", async () =>
      (await runsOf(b.id)).every((r) => r.status === 'cancelled' || r.status === 'completed'),
    );
    const bRuns = (await runsOf(b.id)).length;
    const statuses = await db()
      .selectFrom('messages')
      .select(['status', 'skip_reason'])
      .where('campaign_id', '=', b.id)
      .execute();
    expect(statuses.every((m) => m.status === 'skipped' && m.skip_reason === 'campaign_cancelled')).toBe(
      true,
    );

    // Redis loses the schedulers: the scheduler, restarted, re-creates A's from PostgreSQL
    expect(await s.stop(scheduler)).toBe(0);
    const redis = new Redis(inject('services').redisUrl);
    const pattern = `${s.api.config.redis.queuePrefix}:${CAMPAIGN_SCHEDULES_QUEUE}:*`;
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
    redis.disconnect();
    expect(await schedules().getJobSchedulers()).toEqual([]);
    const before = (await runsOf(a.id)).length;
    scheduler = s.start('scheduler');
    await waitFor(
      "A's scheduler to be re-created and tick again",
      async () => (await runsOf(a.id)).length >= before + 2,
      30_000,
    );
    expect((await schedules().getJobSchedulers()).map((j) => j.key)).toEqual([`campaign-${a.id}`]);
    // B stayed cancelled through all of it: no new runs, no e-mail for its people
    expect((await runsOf(b.id)).length).toBe(bRuns);
    expect(s.fakes.log.entries({ channel: 'email' }).filter((d) => d.to.startsWith('q'))).toEqual([]);

    await cancelCampaign(s.api.deps, a.id, OPERATOR);
    expect(await schedules().getJobSchedulers()).toEqual([]);
  }, 180_000);

  it('a once-schedule runs one time and the campaign completes after its messages are done', async () => {
    emailWorker = s.start('email');
    const c = await defineCampaign(s.api.deps, {
      name: 'once',
      purpose: 'contests',
      channels: ['sms'],
      frequency_cap: '4/7d',
    });
    await submitAndApprove(s.api.deps, c.id);
    await scheduleCampaign(s.api.deps, c.id, { kind: 'once', at: new Date(Date.now() + 1_500) }, OPERATOR);
    s.start('sms');
    await waitFor(
      'the campaign to complete',
      async () =>
        (await db().selectFrom('campaigns').select('status').where('id', '=', c.id).executeTakeFirstOrThrow())
          .status === 'completed',
      60_000,
    ).catch(async (err: unknown) => {
      const state = {
        campaign: await db().selectFrom('campaigns').select(['status']).where('id', '=', c.id).execute(),
        runs: await runsOf(c.id),
        schedulers: await schedules().getJobSchedulers(),
        output: scheduler.output().slice(-3000),
      };
      throw new Error(`${String(err)}: ${JSON.stringify(state)}`);
    });
    const runs = await runsOf(c.id);
    expect(runs.map((r) => [r.trigger, r.status])).toEqual([['schedule', 'completed']]);
    expect(runs[0]?.occurrence_key).toMatch(/^once-/);
    const open = await db()
      .selectFrom('messages')
      .select('id')
      .where('campaign_id', '=', c.id)
      .where('status', 'in', ['queued', 'sending'])
      .execute();
    expect(open).toEqual([]);
    expect(await schedules().getJobScheduler(`campaign-${c.id}`)).toBeUndefined();
  }, 120_000);
});
