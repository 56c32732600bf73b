import { sql } from 'kysely';
import twilio from 'twilio';
import { createChannelSender } from '../../../src/channels/senders.js';
import { keyedHash } from '../../../src/crypto/pseudonym.js';
import { DEFAULT_WORKER_OPTIONS, startChannelWorker } from '../../../src/delivery/worker.js';
import type { Channel } from '../../../src/domain/vocabulary.js';
import { type Fakes, providerEnv, startFakes } from '../../fakes/fakes.js';
import { defineCampaign, runNow } from '../../support/campaigns.js';
import { waitFor } from '../../support/process.js';
import { seedAudience, seedOffer, suppressionHash } from '../../support/seed.js';
import { createTestApp, type TestApp } from '../../support/test-app.js';
import type { TestDatabase } from '../../support/test-db.js';
import { messageOf, token } from '../inbound/setup.js';

/**
 * One campaign on all three channels over 60 seeded people (seed.ts) plus people excluded for every
 * reason a run records, provider faults at the fakes (a bouncing address, an invalid number, a dead
 * push token, lost answers, a refusal retried), engagement through the real inbound routes, and a
 * second run that meets the consequences (caps, the bounce's suppression, the dead token, the
 * unsubscribe). Who is who:
 *
 * - P7 restricted, P11 objected to marketing, ERASED-1 an erased person (tombstone), P9's address
 *   suppressed, P50 outside the audience rule (time zone), P29/P58 objected to profiling (N9)
 * - offer `travel` (priority 2, eligibility: interest travel, every channel) and offer `basic`
 *   (priority 1, e-mail only): people not into travel have no eligible offer on SMS and push
 * - e-mail: P1 refused once (451) then sent, P2 hard bounce (550), P3 answer lost (indeterminate)
 * - SMS: P24 invalid number (21211), P36 answer lost; push: P30 dead token, P45 answer lost
 * - P52 lives in Etc/GMT+12 and is inside the campaign's quiet hours: held `queued`
 * - after run 1: P4 opens twice, P5 opens and clicks, P6 unsubscribes (one-click), P12's SMS delivered
 */

export const phone = (g: number) => `+3712${String(g).padStart(7, '0')}`;
export const pushToken = (g: number) => `tok-P${g}-${'x'.repeat(20)}`;
export const ERASED_CLIENT = 'ERASED-1';

export interface Scenario {
  readonly api: TestApp;
  readonly fakes: Fakes;
  readonly campaignId: number;
  readonly runs: readonly [number, number];
  /** Messages held for quiet hours (they stay queued). */
  readonly held: number;
  close(): Promise<void>;
}

/** Quiet hours of two hours around the current local time in Etc/GMT+12 (never Riga's local time). */
function quietAroundNowIn12West(): string {
  const now = new Date();
  const local = (now.getUTCHours() * 60 + now.getUTCMinutes() - 720 + 1440) % 1440;
  const hhmm = (m: number) => {
    const x = (m + 1440) % 1440;
    return `${String(Math.floor(x / 60)).padStart(2, '0')}:${String(x % 60).padStart(2, '0')}`;
  };
  return `${hhmm(local - 60)}-${hhmm(local + 60)}`;
}

async function runWorkers(s: { api: TestApp }, runId: number, held: number) {
  const workers = (['email', 'sms', 'push'] as const).map((channel) =>
    startChannelWorker(s.api.deps, channel, createChannelSender(channel, s.api.config), {
      ...DEFAULT_WORKER_OPTIONS,
      concurrency: 10,
      ratePerSecond: 1000,
    }),
  );
  try {
    await waitFor(
      `every message of run ${runId} but the ${held} held for quiet hours to end`,
      async () => {
        const open = await s.api.deps.db
          .selectFrom('messages')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('run_id', '=', runId)
          .where('status', 'in', ['queued', 'sending'])
          .executeTakeFirstOrThrow();
        return Number(open.n) === held;
      },
      90_000,
    );
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
  }
}

export async function startScenario(t: TestDatabase): Promise<Scenario> {
  const fakes = await startFakes();
  const api = await createTestApp(t, {
    ...providerEnv(fakes.ports),
  });
  const db = api.deps.db;
  await seedAudience(db, 60);
  await sql`UPDATE recipients SET restricted_at = now() - interval '3 days' WHERE client_number = 'P7'`.execute(
    db,
  );
  await sql`UPDATE recipients SET objected_at = now() - interval '2 days' WHERE client_number = 'P11'`.execute(
    db,
  );
  await sql`UPDATE recipients SET time_zone = 'Europe/Vilnius' WHERE client_number = 'P50'`.execute(db);
  await sql`UPDATE recipients SET time_zone = 'Etc/GMT+12' WHERE client_number = 'P52'`.execute(db);
  await sql`INSERT INTO suppressions (channel, address_hash, reason, source)
            VALUES ('email', ${suppressionHash('p9@example.lv')}, 'complaint', 'test')`.execute(db);
  const erased = await db
    .insertInto('recipients')
    .values({ erased_at: new Date(Date.now() - 86_400_000) })
    .returning('id')
    .executeTakeFirstOrThrow();
  await db
    .insertInto('erasure_tombstones')
    .values({
      client_number_hash: keyedHash(api.config.pseudonymSecret, 'client_number', ERASED_CLIENT),
      recipient_id: erased.id,
    })
    .execute();
  await seedOffer(db, { key: 'travel', priority: 2, eligibility: { interest: 'travel' } });
  await seedOffer(db, { key: 'basic', priority: 1, channels: ['email'] });

  fakes
    .faults('email')
    .add({ to: 'p1@example.lv', times: 1, fault: { type: 'error', status: 451, code: '4.3.0' } });
  fakes.faults('email').add({ to: 'p2@example.lv', fault: { type: 'error', status: 550, code: '5.1.1' } });
  fakes.faults('email').add({ to: 'p3@example.lv', fault: { type: 'drop' } });
  fakes.faults('sms').add({ to: phone(24), fault: { type: 'error', status: 400, code: 21211 } });
  fakes.faults('sms').add({ to: phone(36), fault: { type: 'drop' } });
  fakes
    .faults('push')
    .add({ to: pushToken(30), fault: { type: 'error', status: 404, code: 'UNREGISTERED' } });
  fakes.faults('push').add({ to: pushToken(45), fault: { type: 'drop' } });

  const campaign = await defineCampaign(api.deps, {
    name: 'reports',
    purpose: 'service_offers',
    audience: { not: { profile: 'time_zone', in: ['Europe/Vilnius'] } },
    channels: ['email', 'sms', 'push'],
    quiet_hours: quietAroundNowIn12West(),
    frequency_cap: '2/7d',
  });
  const first = await runNow(api.deps, campaign.id, { chunkSize: 16 });
  await runWorkers({ api }, first.runId, 1);

  // engagement through the real inbound routes
  const p4 = await messageOf(api, first.runId, 'P4', 'email');
  const p5 = await messageOf(api, first.runId, 'P5', 'email');
  const p6 = await messageOf(api, first.runId, 'P6', 'email');
  for (const id of [p4.id, p4.id, p5.id]) {
    await api.app.inject({ method: 'GET', url: `/o/${token(api, 'open', id)}` });
  }
  await api.app.inject({ method: 'GET', url: `/c/${token(api, 'click', p5.id)}` });
  await api.app.inject({
    method: 'POST',
    url: `/u/${token(api, 'unsubscribe', p6.id)}`,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: 'List-Unsubscribe=One-Click',
  });
  const sms = await db
    .selectFrom('messages as m')
    .innerJoin('recipients as r', 'r.id', 'm.recipient_id')
    .select('m.provider_message_id')
    .where('m.run_id', '=', first.runId)
    .where('r.client_number', '=', 'P12')
    .where('m.channel', '=', 'sms')
    .executeTakeFirstOrThrow();
  const params = { MessageSid: sms.provider_message_id ?? '', MessageStatus: 'delivered' };
  const url = `${api.config.http.publicBaseUrl}/webhooks/twilio/status`;
  await api.app.inject({
    method: 'POST',
    url: '/webhooks/twilio/status',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-twilio-signature': twilio.getExpectedTwilioSignature(api.config.sms?.authToken ?? '', url, params),
    },
    payload: new URLSearchParams(params).toString(),
  });

  const second = await runNow(api.deps, campaign.id, { chunkSize: 16 });
  await runWorkers({ api }, second.runId, 1);
  return {
    api,
    fakes,
    campaignId: campaign.id,
    runs: [first.runId, second.runId],
    held: 1,
    async close() {
      await api.close();
      await fakes.close();
    },
  };
}

/**
 * The fakes' view of a set of messages: which reached the provider (an entry carrying the message id),
 * and which were only ever refused (an SMTP sink refuses at RCPT, before it sees the message id, so a
 * refusal is matched by the address, number or token).
 */
export async function fakeOutcomes(s: Scenario, channel: Channel, runId: number) {
  const messages = await s.api.deps.db
    .selectFrom('messages as m')
    .innerJoin('recipients as r', 'r.id', 'm.recipient_id')
    .leftJoin('devices as d', 'd.recipient_id', 'm.recipient_id')
    .select(['m.id', 'r.email', 'r.phone', 'd.token'])
    .where('m.run_id', '=', runId)
    .where('m.channel', '=', channel)
    .execute();
  let delivered = 0;
  let refused = 0;
  for (const m of messages) {
    const to = (channel === 'email' ? m.email : channel === 'sms' ? m.phone : m.token) ?? '';
    if (s.fakes.log.entries({ channel, messageId: String(m.id) }).some((e) => e.delivered)) delivered += 1;
    else if (s.fakes.log.entries({ channel, to }).some((e) => e.handling === 'rejected')) refused += 1;
  }
  return { messages: messages.length, delivered, refused };
}
