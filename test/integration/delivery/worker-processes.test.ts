import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { reconcile } from '../../../src/delivery/reconciler.js';
import { sendQueuesOf } from '../../../src/queue/queues.js';
import { SEND_JOB_OPTIONS } from '../../../src/queue/send-jobs.js';
import { type Fakes, providerEnv, startFakes } from '../../fakes/fakes.js';
import { defineCampaign, runNow } from '../../support/campaigns.js';
import { type RunningRole, startRole, waitFor } from '../../support/process.js';
import { seedAudience, seedOffer } from '../../support/seed.js';
import { exampleEnv } from '../../support/service-env.js';
import { createTestApp, type TestApp } from '../../support/test-app.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';

describe('channel worker processes', () => {
  let t: TestDatabase;
  let fakes: Fakes;
  let api: TestApp;
  let env: Record<string, string>;
  const children: RunningRole[] = [];

  beforeAll(async () => {
    t = await createTestDatabase();
    fakes = await startFakes();
    const providers = {
      ...providerEnv(fakes.ports),
      QUIET_HOURS_DEFAULT: '00:00-00:00',
    };
    api = await createTestApp(t, providers);
    env = {
      ...exampleEnv(),
      ...providers,
      DATABASE_URL: t.appUrl,
      REDIS_URL: inject('services').redisUrl,
      QUEUE_PREFIX: api.config.redis.queuePrefix,
      SEND_LEASE_SECONDS: '3',
      WORKER_CONCURRENCY: '20',
      LOG_LEVEL: 'warn',
    };
    await seedAudience(api.deps.db, 1_500);
    await seedOffer(api.deps.db, { key: 'general' });
  });
  afterAll(async () => {
    for (const c of children) c.child.kill('SIGKILL');
    await api.close();
    await fakes.close();
    await t.drop();
  });

  const start = (role: string) => {
    const child = startRole([role], env);
    children.push(child);
    return child;
  };
  const statusCounts = async (runId: number) => {
    const rows = await api.deps.db
      .selectFrom('messages')
      .select(['status', sql<number>`count(*)::int`.as('n')])
      .where('run_id', '=', runId)
      .groupBy('status')
      .execute();
    return Object.fromEntries(rows.map((r) => [r.status, r.n])) as Record<string, number>;
  };

  it('killed mid-campaign, then restarted and reconciled, leave every message ended and none sent twice', async () => {
    for (const channel of ['email', 'sms', 'push'] as const)
      fakes.faults(channel).add({ fault: { type: 'delay', ms: 25 } });
    const campaign = await defineCampaign(api.deps, {
      name: 'killed',
      purpose: 'service_offers',
      channels: ['email', 'sms', 'push'],
      quiet_hours: '00:00-00:00',
      frequency_cap: '4/7d',
    });
    const { runId } = await runNow(api.deps, campaign.id);
    const total = Object.values(await statusCounts(runId)).reduce((a, b) => a + b, 0);

    const first = (['email', 'sms', 'push'] as const).map((r) => start(r));
    await waitFor(
      'a quarter of the campaign to be sent',
      async () => ((await statusCounts(runId)).sent ?? 0) > total / 4,
      90_000,
    );
    for (const c of first) c.child.kill('SIGKILL');
    await Promise.all(first.map((c) => c.exited));
    const inFlight = (await statusCounts(runId)).sending ?? 0;

    const second = (['email', 'sms', 'push'] as const).map((r) => start(r));
    const queues = sendQueuesOf(api.deps);
    await waitFor(
      'every message to end',
      async () => {
        await reconcile(api.deps.db, api.deps.redis, queues, {
          queuePrefix: api.config.redis.queuePrefix,
          graceSeconds: 5,
          batch: 500,
        });
        const c = await statusCounts(runId);
        return (c.queued ?? 0) + (c.sending ?? 0) === 0;
      },
      180_000,
    );
    for (const c of second) c.child.kill('SIGTERM');
    expect(await Promise.all(second.map((c) => c.exited))).toEqual([0, 0, 0]);

    const counts = await statusCounts(runId);
    const perMessage = new Map<string, number>();
    for (const d of fakes.log.entries().filter((e) => e.delivered && e.messageId !== null)) {
      perMessage.set(d.messageId ?? '', (perMessage.get(d.messageId ?? '') ?? 0) + 1);
    }
    const twice = [...perMessage].filter(([, n]) => n > 1);
    expect(twice).toEqual([]);
    expect(counts.indeterminate ?? 0).toBeLessThanOrEqual(inFlight);
    const sent = await api.deps.db
      .selectFrom('messages')
      .select('id')
      .where('run_id', '=', runId)
      .where('status', '=', 'sent')
      .execute();
    for (const m of sent) expect(perMessage.get(String(m.id)), `message ${m.id}`).toBe(1);
    expect(counts.sent).toBeGreaterThan(total / 2);
  }, 300_000);

  it('two worker processes given duplicate jobs for one message send it once', async () => {
    for (const channel of ['email', 'sms', 'push'] as const) fakes.faults(channel).clear();
    const campaign = await defineCampaign(api.deps, {
      name: 'duplicates',
      purpose: 'contests',
      channels: ['email'],
      quiet_hours: '00:00-00:00',
      frequency_cap: '4/7d',
    });
    await sql`
      INSERT INTO consents (recipient_id, purpose, channel, status, source, occurred_at, notice_version)
      SELECT id, 'contests', 'email', 'granted', 'import', now(), '2022-03-01' FROM recipients WHERE client_number = 'P1'
    `.execute(api.deps.db);
    await seedOffer(api.deps.db, { key: 'contest', purpose: 'contests' });
    const { runId } = await runNow(api.deps, campaign.id);
    const message = await api.deps.db
      .selectFrom('messages')
      .select('id')
      .where('run_id', '=', runId)
      .executeTakeFirstOrThrow();
    // the same message delivered as several jobs, to two workers started together
    const queue = sendQueuesOf(api.deps).email;
    await queue.pause();
    await queue.addBulk(
      ['a', 'b', 'c', 'd'].map((s) => ({
        name: 'email',
        data: { messageId: message.id },
        opts: { ...SEND_JOB_OPTIONS, jobId: `dup${message.id}${s}` },
      })),
    );
    const workers = [start('email'), start('email')];
    await new Promise((r) => setTimeout(r, 2_000));
    await queue.resume();
    await waitFor('the message to be sent', async () => (await statusCounts(runId)).sent === 1, 60_000);
    await waitFor(
      'every duplicate job to finish',
      async () => (await queue.getJobCountByTypes('wait', 'active', 'delayed')) === 0,
      60_000,
    );
    for (const w of workers) w.child.kill('SIGTERM');
    await Promise.all(workers.map((w) => w.exited));
    const got = fakes.log.entries({ messageId: String(message.id) }).filter((d) => d.delivered);
    expect(
      got,
      JSON.stringify(got.map((d) => ({ to: d.to, ch: d.channel, t: d.time, id: d.providerId }))),
    ).toHaveLength(1);
  }, 120_000);
});
