import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startRun } from '../../../src/campaigns/runs.repository.js';
import { sendQueuesOf } from '../../../src/queue/queues.js';
import { defineCampaign, runNow, runsQueue } from '../../support/campaigns.js';
import { type RunningRole, startRole, waitFor } from '../../support/process.js';
import { seedAudience, seedOffer } from '../../support/seed.js';
import { exampleEnv } from '../../support/service-env.js';
import { createTestApp, type TestApp } from '../../support/test-app.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';

const PEOPLE = 50_000;
const CHUNK = 1_000;

describe('a campaign runner killed mid-run', () => {
  let t: TestDatabase;
  let api: TestApp;
  let env: Record<string, string>;
  const runners: RunningRole[] = [];

  beforeAll(async () => {
    t = await createTestDatabase();
    api = await createTestApp(t);
    await seedAudience(api.deps.db, PEOPLE);
    await seedOffer(api.deps.db, {
      key: 'travel',
      priority: 10,
      personalised: true,
      eligibility: { interest: 'travel' },
    });
    await seedOffer(api.deps.db, { key: 'general', priority: 1 });
    env = {
      ...exampleEnv(),
      DATABASE_URL: t.appUrl,
      REDIS_URL: inject('services').redisUrl,
      QUEUE_PREFIX: api.config.redis.queuePrefix,
      RUN_CHUNK_SIZE: String(CHUNK),
      RUN_LEASE_SECONDS: '2',
      QUIET_HOURS_DEFAULT: '00:00-00:00',
      LOG_LEVEL: 'warn',
    };
  });
  afterAll(async () => {
    for (const r of runners) r.child.kill('SIGKILL');
    await api.close();
    await t.drop();
  });

  const checkpoint = async (runId: number) =>
    await api.deps.db
      .selectFrom('campaign_runs')
      .select(['checkpoint_recipient_id', 'status'])
      .where('id', '=', runId)
      .executeTakeFirstOrThrow();

  it('resumes after SIGKILL at three checkpoints into exactly the messages, queue jobs and funnel of an uninterrupted run', async () => {
    const definition = {
      purpose: 'service_offers',
      channels: ['email', 'sms', 'push'],
      frequency_cap: '4/7d',
    } as const;
    const crashed = await defineCampaign(api.deps, {
      ...definition,
      name: 'crashed',
      channels: [...definition.channels],
    });
    const { runId } = await startRun(api.deps.db, runsQueue(api.deps), {
      campaignId: crashed.id,
      trigger: 'manual',
      occurrenceKey: 'crash',
    });
    const ids = await api.deps.db
      .selectFrom('recipients')
      .select([sql<number>`min(id)`.as('lo'), sql<number>`max(id)`.as('hi')])
      .executeTakeFirstOrThrow();
    const span = Number(ids.hi) - Number(ids.lo);

    // kill at three checkpoints, each observed in the database
    let killedBetweenWriteAndEnqueue = 0;
    for (const fraction of [0.2, 0.5, 0.8]) {
      const runner = startRole(['campaign-runner'], env);
      runners.push(runner);
      const target = Number(ids.lo) + span * fraction;
      await waitFor(
        `checkpoint past ${Math.round(fraction * 100)}%`,
        async () => (await checkpoint(runId)).checkpoint_recipient_id >= target,
        120_000,
      );
      runner.child.kill('SIGKILL');
      await runner.exited;
      const at = await checkpoint(runId);
      expect(at.status).toBe('running');
      expect(at.checkpoint_recipient_id).toBeLessThan(Number(ids.hi));
      const gap = await api.deps.db
        .selectFrom('campaign_runs')
        .select(['checkpoint_recipient_id', 'enqueued_through_recipient_id'])
        .where('id', '=', runId)
        .executeTakeFirstOrThrow();
      if (gap.enqueued_through_recipient_id < gap.checkpoint_recipient_id) killedBetweenWriteAndEnqueue += 1;
    }
    // enqueueing overlaps the next chunk's writing, so a kill nearly always leaves written chunks
    // without jobs: the resume path that enqueues them is exercised, not just reasoned about
    expect(killedBetweenWriteAndEnqueue).toBeGreaterThan(0);
    // a fresh runner takes over once the dead one's lease has expired
    const last = startRole(['campaign-runner'], env);
    runners.push(last);
    await waitFor(
      'the run to complete',
      async () => (await checkpoint(runId)).status === 'completed',
      180_000,
    );
    last.child.kill('SIGTERM');
    expect(await last.exited).toBe(0);

    // the same campaign, uninterrupted, in this process
    const clean = await defineCampaign(api.deps, {
      ...definition,
      name: 'clean',
      channels: [...definition.channels],
    });
    const { runId: cleanRun } = await runNow(api.deps, clean.id, { chunkSize: CHUNK });

    const summary = async (id: number) => {
      const messages = await sql<{ n: number; distinct_pairs: number; offers: string }>`
        SELECT count(*)::int AS n, count(DISTINCT (recipient_id, channel))::int AS distinct_pairs,
               md5(string_agg(recipient_id || ':' || channel || ':' || offer_id, ',' ORDER BY recipient_id, channel)) AS offers
        FROM messages WHERE run_id = ${id}
      `.execute(api.deps.db);
      const exclusions = await sql<{ n: number; digest: string }>`
        SELECT count(*)::int AS n, md5(string_agg(recipient_id || ':' || channel || ':' || reason, ',' ORDER BY recipient_id, channel)) AS digest
        FROM run_exclusions WHERE run_id = ${id}
      `.execute(api.deps.db);
      const run = await api.deps.db
        .selectFrom('campaign_runs')
        .select('funnel')
        .where('id', '=', id)
        .executeTakeFirstOrThrow();
      return { messages: messages.rows[0], exclusions: exclusions.rows[0], funnel: run.funnel };
    };
    const a = await summary(runId);
    const b = await summary(cleanRun);
    expect(a.messages?.n).toBeGreaterThan(PEOPLE / 2);
    expect(a.messages?.n).toBe(a.messages?.distinct_pairs);
    expect(a).toEqual(b);

    // every message of the crashed run is in its channel queue
    const queued = await api.deps.db
      .selectFrom('messages')
      .select(['id', 'channel'])
      .where('run_id', '=', runId)
      .execute();
    const queues = sendQueuesOf(api.deps);
    const jobIds = new Set<string>();
    for (const q of Object.values(queues)) {
      for (const job of await q.getJobs(['waiting', 'delayed', 'prioritized'], 0, -1))
        if (job.id) jobIds.add(job.id);
    }
    const missing = queued.filter((m) => !jobIds.has(`m${m.id}`));
    expect(missing).toEqual([]);
  }, 400_000);
});
