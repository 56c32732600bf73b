import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChannelSender } from '../../../src/channels/senders.js';
import { DEFAULT_WORKER_OPTIONS, startChannelWorker } from '../../../src/delivery/worker.js';
import { type Fakes, providerEnv, startFakes } from '../../fakes/fakes.js';
import { defineCampaign, openMessages, runNow } from '../../support/campaigns.js';
import { waitFor } from '../../support/process.js';
import { seedAudience, seedOffer } from '../../support/seed.js';
import { createTestApp, type TestApp } from '../../support/test-app.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';

const token = (g: number) => `tok-P${g}-${'x'.repeat(20)}`;
const phone = (g: number) => `+3712${String(g).padStart(7, '0')}`;

describe('channel workers through the real SDKs against the fakes', () => {
  let t: TestDatabase;
  let fakes: Fakes;
  let api: TestApp;

  beforeAll(async () => {
    t = await createTestDatabase();
    fakes = await startFakes();
    api = await createTestApp(t, {
      ...providerEnv(fakes.ports),
      QUIET_HOURS_DEFAULT: '00:00-00:00',
    });
    await seedAudience(api.deps.db, 50);
    await seedOffer(api.deps.db, { key: 'general' });
  });
  afterAll(async () => {
    await api.close();
    await fakes.close();
    await t.drop();
  });

  it('retries only what was certainly refused, sends it once, ends permanent refusals with their side effect, and never resends a dropped answer', async () => {
    // e-mail: P1 a 451 once, P2 a 550, P3 a dropped answer; SMS: P4 a 503 once, P8 21211, P12 dropped;
    // push: P15 a 503 once, P30 UNREGISTERED, P45 dropped
    fakes
      .faults('email')
      .add({ to: 'p1@example.lv', times: 1, fault: { type: 'error', status: 451, code: '4.3.0' } });
    fakes.faults('email').add({ to: 'p2@example.lv', fault: { type: 'error', status: 550, code: '5.1.1' } });
    fakes.faults('email').add({ to: 'p3@example.lv', fault: { type: 'drop' } });
    fakes.faults('sms').add({ to: phone(4), times: 1, fault: { type: 'error', status: 503 } });
    fakes.faults('sms').add({ to: phone(8), fault: { type: 'error', status: 400, code: 21211 } });
    fakes.faults('sms').add({ to: phone(12), fault: { type: 'drop' } });
    fakes.faults('push').add({ to: token(15), times: 1, fault: { type: 'error', status: 503 } });
    fakes.faults('push').add({ to: token(30), fault: { type: 'error', status: 404, code: 'UNREGISTERED' } });
    fakes.faults('push').add({ to: token(45), fault: { type: 'drop' } });

    const campaign = await defineCampaign(api.deps, {
      name: 'faults',
      purpose: 'service_offers',
      channels: ['email', 'sms', 'push'],
      quiet_hours: '00:00-00:00',
      frequency_cap: '4/7d',
    });
    const { runId } = await runNow(api.deps, campaign.id);
    const workers = (['email', 'sms', 'push'] as const).map((channel) =>
      startChannelWorker(api.deps, channel, createChannelSender(channel, api.config), {
        ...DEFAULT_WORKER_OPTIONS,
        concurrency: 10,
        ratePerSecond: 1000,
      }),
    );
    try {
      await waitFor(
        'every message to end',
        async () => (await openMessages(api.deps, runId)) === 0,
        60_000,
      ).catch(async (err: unknown) => {
        const open = await api.deps.db
          .selectFrom('messages')
          .select(['id', 'channel', 'status', 'attempts', 'error_code'])
          .where('run_id', '=', runId)
          .where('status', 'in', ['queued', 'sending'])
          .execute();
        throw new Error(`${String(err)}: ${JSON.stringify(open)}`);
      });
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
    }

    const rows = await api.deps.db
      .selectFrom('messages as m')
      .innerJoin('recipients as r', 'r.id', 'm.recipient_id')
      .select(['m.id', 'm.channel', 'm.status', 'm.attempts', 'm.error_code', 'r.client_number'])
      .where('m.run_id', '=', runId)
      .execute();
    const of = (client: string, channel: string) =>
      rows.find((r) => r.client_number === client && r.channel === channel);
    const deliveries = (id: number) =>
      fakes.log.entries({ messageId: String(id) }).filter((d) => d.delivered).length;

    for (const [client, channel] of [
      ['P1', 'email'],
      ['P4', 'sms'],
      ['P15', 'push'],
    ] as const) {
      const m = of(client, channel);
      expect(m, `${client} ${channel}`).toMatchObject({ status: 'sent', attempts: 2 });
      expect(deliveries(m?.id ?? 0), `${client} ${channel} delivered once`).toBe(1);
    }
    for (const [client, channel] of [
      ['P3', 'email'],
      ['P12', 'sms'],
      ['P45', 'push'],
    ] as const) {
      const m = of(client, channel);
      expect(m, `${client} ${channel}`).toMatchObject({ status: 'indeterminate', attempts: 1 });
      // the fake has it: which is exactly why it must not be sent again
      expect(deliveries(m?.id ?? 0), `${client} ${channel}`).toBe(1);
    }
    expect(of('P2', 'email')).toMatchObject({ status: 'failed' });
    expect(of('P8', 'sms')).toMatchObject({ status: 'failed' });
    expect(of('P30', 'push')).toMatchObject({ status: 'failed' });

    // side effects: a hard bounce and an invalid number are suppressed, a dead token invalidated
    const suppressions = await sql<{ channel: string; reason: string }>`
      SELECT s.channel, s.reason FROM suppressions s JOIN recipients r
        ON s.address_hash = CASE s.channel WHEN 'email' THEN r.email_hash ELSE r.phone_hash END
      WHERE r.client_number IN ('P2', 'P8') ORDER BY s.channel
    `.execute(api.deps.db);
    expect(suppressions.rows).toEqual([
      { channel: 'email', reason: 'hard_bounce' },
      { channel: 'sms', reason: 'invalid_number' },
    ]);
    const device = await api.deps.db
      .selectFrom('devices')
      .select(['invalidated_at', 'invalid_reason'])
      .where('token', '=', token(30))
      .executeTakeFirstOrThrow();
    expect(device.invalid_reason).toBe('unregistered');

    // every other message was delivered exactly once; none twice
    const sent = rows.filter((r) => r.status === 'sent');
    for (const m of sent) expect(deliveries(m.id), `message ${m.id}`).toBe(1);
    expect(sent.length).toBeGreaterThan(30);
    // e-mail as received: one-click unsubscribe (RFC 8058)
    const email = fakes.log.entries({ channel: 'email' }).find((d) => d.delivered);
    expect(email?.headers['list-unsubscribe-post'] ?? email?.headers['List-Unsubscribe-Post']).toBe(
      'List-Unsubscribe=One-Click',
    );
  }, 150_000);
});
