import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChannelSender } from '../../../src/channels/senders.js';
import { DEFAULT_WORKER_OPTIONS, startChannelWorker } from '../../../src/delivery/worker.js';
import { QUEUE_STATES } from '../../../src/metrics/api-metrics.js';
import { ALL_QUEUES, SEND_QUEUES } from '../../../src/queue/names.js';
import { type Fakes, providerEnv, startFakes } from '../../fakes/fakes.js';
import { defineCampaign, openMessages, runNow } from '../../support/campaigns.js';
import { NOTICE_VERSION } from '../../support/fixtures.js';
import { waitFor } from '../../support/process.js';
import { type MetricFamily, parsePrometheus, sampleSum, sampleValue } from '../../support/prometheus.js';
import { seedAudience, seedOffer } from '../../support/seed.js';
import { createTestApp, type TestApp } from '../../support/test-app.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';

describe('ops: /metrics and the queue board', () => {
  let t: TestDatabase;
  let fakes: Fakes;
  let api: TestApp;
  let ops: string;

  beforeAll(async () => {
    t = await createTestDatabase();
    fakes = await startFakes();
    api = await createTestApp(t, {
      ...providerEnv(fakes.ports),
      QUIET_HOURS_DEFAULT: '00:00-00:00',
    });
    await seedAudience(api.deps.db, 60);
    await seedOffer(api.deps.db, { key: 'general' });
    ops = await api.key(['ops']);
  });
  afterAll(async () => {
    await api.close();
    await fakes.close();
    await t.drop();
  });

  const scrape = async (): Promise<MetricFamily[]> => {
    const reply = await api.app.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: `Bearer ${ops}` },
    });
    expect(reply.statusCode).toBe(200);
    expect(reply.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    return parsePrometheus(reply.body);
  };
  const basic = (password: string, user = 'ops') =>
    `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

  it('/metrics answers 401 without a key and 403 for a key without the ops scope', async () => {
    expect((await api.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401);
    const reader = await api.key(['reports:read']);
    const forbidden = await api.app.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: `Bearer ${reader}` },
    });
    expect(forbidden.statusCode).toBe(403);
  });

  it('/metrics parses as Prometheus text and moves when messages are sent', async () => {
    const campaign = await defineCampaign(api.deps, {
      name: 'metrics',
      purpose: 'service_offers',
      channels: ['email', 'sms', 'push'],
      quiet_hours: '00:00-00:00',
      frequency_cap: '4/7d',
    });
    const { runId } = await runNow(api.deps, campaign.id);
    const queued = await openMessages(api.deps, runId);
    expect(queued).toBeGreaterThan(10);

    // before any worker: the jobs wait in Redis, nothing is sent yet
    const before = await scrape();
    for (const queue of ALL_QUEUES) {
      for (const state of QUEUE_STATES) {
        expect(
          sampleValue(before, 'consentcast_queue_jobs', { queue, state }),
          `${queue} ${state}`,
        ).toBeTypeOf('number');
      }
      expect(sampleValue(before, 'consentcast_queue_oldest_waiting_age_seconds', { queue })).toBeTypeOf(
        'number',
      );
    }
    const waiting = Object.values(SEND_QUEUES).reduce(
      (sum, queue) => sum + (sampleValue(before, 'consentcast_queue_jobs', { queue, state: 'waiting' }) ?? 0),
      0,
    );
    expect(waiting).toBe(queued);
    expect(sampleValue(before, 'consentcast_metrics_source_up', { source: 'redis' })).toBe(1);
    expect(sampleValue(before, 'consentcast_metrics_source_up', { source: 'postgres' })).toBe(1);
    expect(sampleSum(before, 'consentcast_messages', { status: 'queued' })).toBe(queued);
    const sentBefore = sampleSum(before, 'consentcast_sends_total', { outcome: 'sent' });
    expect(before.find((f) => f.name === 'process_cpu_user_seconds_total')?.type).toBe('counter');

    const workers = (['email', 'sms', 'push'] as const).map((channel) =>
      startChannelWorker(api.deps, channel, createChannelSender(channel, api.config), {
        ...DEFAULT_WORKER_OPTIONS,
        concurrency: 10,
        ratePerSecond: 1000,
      }),
    );
    try {
      await waitFor('every message to end', async () => (await openMessages(api.deps, runId)) === 0, 60_000);
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
    }
    const delivered = fakes.log.entries().filter((e) => e.delivered).length;
    expect(delivered).toBe(queued);

    // the PostgreSQL figures are cached for a few seconds: wait for the scrape that sees the sends
    let after: MetricFamily[] = [];
    await waitFor(
      'the sent messages in /metrics',
      async () => {
        after = await scrape();
        return sampleSum(after, 'consentcast_messages', { status: 'sent' }) === delivered;
      },
      20_000,
    );
    expect(sampleSum(after, 'consentcast_messages', { status: 'queued' })).toBe(0);
    expect(sampleSum(after, 'consentcast_sends_total', { outcome: 'sent' }) - sentBefore).toBe(delivered);
    expect(after.find((f) => f.name === 'consentcast_send_duration_seconds')?.type).toBe('histogram');
    const observed =
      sampleSum(after, 'consentcast_send_duration_seconds_count', { outcome: 'sent' }) -
      sampleSum(before, 'consentcast_send_duration_seconds_count', { outcome: 'sent' });
    expect(observed).toBe(delivered);
    expect(
      sampleSum(after, 'consentcast_send_duration_seconds_bucket', { outcome: 'sent', le: '+Inf' }) -
        sampleSum(before, 'consentcast_send_duration_seconds_bucket', { outcome: 'sent', le: '+Inf' }),
    ).toBe(delivered);
    for (const queue of Object.values(SEND_QUEUES)) {
      expect(sampleValue(after, 'consentcast_queue_jobs', { queue, state: 'waiting' })).toBe(0);
      expect(sampleValue(after, 'consentcast_queue_oldest_waiting_age_seconds', { queue })).toBe(0);
    }
  }, 120_000);

  it('/metrics counts withdrawals from the consent ledger by source', async () => {
    const before = sampleValue(await scrape(), 'consentcast_consent_withdrawals', { source: 'api' }) ?? 0;
    const writer = await api.key(['consents:write']);
    const reply = await api.app.inject({
      method: 'POST',
      url: '/v1/recipients/P4/consents',
      headers: { authorization: `Bearer ${writer}`, 'idempotency-key': 'metrics-withdraw-1' },
      payload: {
        source: 'api',
        notice_version: NOTICE_VERSION,
        changes: [
          { purpose: 'service_offers', channel: 'sms', action: 'withdraw' },
          { purpose: 'service_offers', channel: 'email', action: 'withdraw' },
        ],
      },
    });
    expect(reply.statusCode).toBe(201);
    await waitFor(
      'the withdrawals in /metrics',
      async () =>
        sampleValue(await scrape(), 'consentcast_consent_withdrawals', { source: 'api' }) === before + 2,
    );
  });

  it('an open emergency stop of one channel shows on /metrics and /readyz, and leaves them when resumed', async () => {
    const stop = await api.app.inject({
      method: 'POST',
      url: '/v1/ops/emergency-stop',
      headers: { authorization: `Bearer ${ops}` },
      payload: { reason: 'provider incident', channel: 'sms' },
    });
    expect(stop.statusCode).toBe(200);
    expect(stop.json()).toMatchObject({
      stopped: true,
      changed: true,
      channels_stopped: { email: false, sms: true, push: false },
      stops: [{ scope: 'sms', stopped_by: expect.any(String), reason: 'provider incident' }],
    });
    await waitFor(
      'the stop in /metrics',
      async () => sampleValue(await scrape(), 'consentcast_emergency_stop_open', { scope: 'sms' }) === 1,
    );
    expect(sampleValue(await scrape(), 'consentcast_emergency_stop_open', { scope: 'all' })).toBe(0);
    const ready = await api.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(JSON.stringify(ready.json())).toMatch(/STOPPED on sms since/);

    const resume = await api.app.inject({
      method: 'POST',
      url: '/v1/ops/emergency-resume',
      headers: { authorization: `Bearer ${ops}` },
      payload: { channel: 'sms' },
    });
    expect(resume.json()).toMatchObject({ stopped: false, changed: true, stops: [] });
    await waitFor(
      'the stop gone from /metrics',
      async () => sampleValue(await scrape(), 'consentcast_emergency_stop_open', { scope: 'sms' }) === 0,
    );
    expect(JSON.stringify((await api.app.inject({ method: 'GET', url: '/readyz' })).json())).toMatch(
      /no emergency stop open/,
    );
  });

  it('/admin/queues answers 401 without credentials and lists every queue with them', async () => {
    const none = await api.app.inject({ method: 'GET', url: '/admin/queues/api/queues' });
    expect(none.statusCode).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Basic realm=/);
    const wrong = await api.app.inject({
      method: 'GET',
      url: '/admin/queues/api/queues',
      headers: { authorization: basic('cc_AAAAAAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB') },
    });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.headers['www-authenticate']).toMatch(/^Basic /);
    const page = await api.app.inject({ method: 'GET', url: '/admin/queues' });
    expect(page.statusCode).toBe(401);

    const noOps = await api.key(['reports:read']);
    const forbidden = await api.app.inject({
      method: 'GET',
      url: '/admin/queues/api/queues',
      headers: { authorization: basic(noOps) },
    });
    expect(forbidden.statusCode).toBe(403);

    const listed = await api.app.inject({
      method: 'GET',
      url: '/admin/queues/api/queues',
      headers: { authorization: basic(ops, 'anyone') },
    });
    expect(listed.statusCode).toBe(200);
    const names = (listed.json() as { queues: { name: string }[] }).queues.map((q) => q.name);
    expect(names.sort()).toEqual([...ALL_QUEUES].sort());

    const ui = await api.app.inject({
      method: 'GET',
      url: '/admin/queues',
      headers: { authorization: basic(ops) },
    });
    expect(ui.statusCode).toBe(200);
    expect(ui.headers['content-type']).toMatch(/text\/html/);
    // the page's scripts are served by the board's static files (behind the same credentials)
    const script = /src="([^"]+\.js)"/.exec(ui.body)?.[1];
    expect(script).toBeDefined();
    const url = script?.startsWith('/') ? script : `/admin/queues/${script}`;
    expect((await api.app.inject({ method: 'GET', url })).statusCode).toBe(401);
    const asset = await api.app.inject({ method: 'GET', url, headers: { authorization: basic(ops) } });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['content-type']).toMatch(/javascript/);
  });

  it('/admin/queues audits what an operator changes and refuses to write job data (N16)', async () => {
    const queue = SEND_QUEUES.email;
    const pause = await api.app.inject({
      method: 'PUT',
      url: `/admin/queues/api/queues/${queue}/pause`,
      headers: { authorization: basic(ops) },
    });
    expect(pause.statusCode).toBe(200);
    expect(await api.deps.queues.get(queue)?.isPaused()).toBe(true);
    await api.app.inject({
      method: 'PUT',
      url: `/admin/queues/api/queues/${queue}/resume`,
      headers: { authorization: basic(ops) },
    });
    expect(await api.deps.queues.get(queue)?.isPaused()).toBe(false);
    const entries = await api.deps.db
      .selectFrom('audit_log')
      .select(['actor_type', 'action', 'subject_id', 'details'])
      .where('action', '=', 'ops.queue_board')
      .orderBy('id')
      .execute();
    expect(entries.map((e) => [e.actor_type, e.subject_id])).toEqual([
      ['api_key', queue],
      ['api_key', queue],
    ]);

    const add = await api.app.inject({
      method: 'POST',
      url: `/admin/queues/api/queues/${queue}/add`,
      headers: { authorization: basic(ops) },
      payload: { name: 'email', data: { email: 'someone@example.lv' } },
    });
    expect(add.statusCode).toBe(403);
    expect(await api.deps.queues.get(queue)?.count()).toBe(0);
  });

  it('leaves the board out of the OpenAPI document', async () => {
    const doc = (await api.app.inject({ method: 'GET', url: '/openapi.json' })).json() as {
      paths: Record<string, unknown>;
    };
    expect(Object.keys(doc.paths).filter((p) => !p.startsWith('/v1/'))).toEqual([]);
  });
});
