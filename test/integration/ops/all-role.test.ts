import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startRun } from '../../../src/campaigns/runs.repository.js';
import { type Fakes, providerEnv, startFakes } from '../../fakes/fakes.js';
import { defineCampaign, openMessages, runsQueue } from '../../support/campaigns.js';
import { freePort, type RunningRole, startRole, waitFor } from '../../support/process.js';
import { parsePrometheus, sampleSum } from '../../support/prometheus.js';
import { seedAudience, seedOffer } from '../../support/seed.js';
import { exampleEnv } from '../../support/service-env.js';
import { createTestApp, type TestApp } from '../../support/test-app.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';

describe('consentcast all: every role in one process', () => {
  let t: TestDatabase;
  let fakes: Fakes;
  let api: TestApp;
  let all: RunningRole | undefined;

  beforeAll(async () => {
    t = await createTestDatabase();
    fakes = await startFakes();
    const providers = {
      ...providerEnv(fakes.ports),
      QUIET_HOURS_DEFAULT: '00:00-00:00',
    };
    api = await createTestApp(t, providers);
    await seedAudience(api.deps.db, 40);
    await seedOffer(api.deps.db, { key: 'general' });
    const [httpPort, metricsPort] = [await freePort(), await freePort()];
    all = startRole(['all'], {
      ...exampleEnv(),
      ...providers,
      DATABASE_URL: t.appUrl,
      REDIS_URL: inject('services').redisUrl,
      QUEUE_PREFIX: api.config.redis.queuePrefix,
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: String(httpPort),
      PUBLIC_BASE_URL: `http://127.0.0.1:${httpPort}`,
      METRICS_PORT: String(metricsPort),
      LOG_LEVEL: 'warn',
    });
    urls = { http: `http://127.0.0.1:${httpPort}`, metrics: `http://127.0.0.1:${metricsPort}/metrics` };
  });
  let urls: { http: string; metrics: string };
  afterAll(async () => {
    all?.child.kill('SIGKILL');
    await api.close();
    await fakes.close();
    await t.drop();
  });

  it('answers /readyz, sends a campaign to the fakes end to end, counts it on METRICS_PORT, and exits 0 on SIGTERM', async () => {
    const running = all as RunningRole;
    await waitFor(
      'the all process to be ready',
      async () => (await fetch(`${urls.http}/readyz`)).status === 200,
      60_000,
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${running.output()}`);
    });

    const campaign = await defineCampaign(api.deps, {
      name: 'all-in-one',
      purpose: 'service_offers',
      channels: ['email', 'sms', 'push'],
      quiet_hours: '00:00-00:00',
      frequency_cap: '4/7d',
    });
    // the run is only enqueued here: the campaign runner inside `all` plans it, its workers send it
    const { runId } = await startRun(api.deps.db, runsQueue(api.deps), {
      campaignId: campaign.id,
      trigger: 'manual',
      occurrenceKey: 'all-role-test',
    });
    await waitFor(
      'the run to complete and every message to end',
      async () => {
        const run = await api.deps.db
          .selectFrom('campaign_runs')
          .select('status')
          .where('id', '=', runId)
          .executeTakeFirstOrThrow();
        return run.status === 'completed' && (await openMessages(api.deps, runId)) === 0;
      },
      90_000,
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${running.output()}`);
    });

    const sent = await api.deps.db
      .selectFrom('messages')
      .select(['id', 'channel'])
      .where('run_id', '=', runId)
      .where('status', '=', 'sent')
      .execute();
    expect(new Set(sent.map((m) => m.channel))).toEqual(new Set(['email', 'sms', 'push']));
    const delivered = fakes.log.entries().filter((e) => e.delivered && e.messageId !== null);
    expect(delivered.map((d) => d.messageId).sort()).toEqual(sent.map((m) => String(m.id)).sort());

    // the process's own registry, unauthenticated on METRICS_PORT, counted the same sends
    const families = parsePrometheus(await (await fetch(urls.metrics)).text());
    expect(sampleSum(families, 'consentcast_sends_total', { outcome: 'sent' })).toBe(sent.length);

    running.child.kill('SIGTERM');
    expect(await running.exited).toBe(0);
  }, 180_000);
});
