import { Redis } from 'ioredis';
import { sql } from 'kysely';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startRun } from '../../../src/campaigns/runs.repository.js';
import { signLink } from '../../../src/links/tokens.js';
import { sendQueuesOf } from '../../../src/queue/queues.js';
import { sendJobId } from '../../../src/queue/send-jobs.js';
import { type Fakes, providerEnv, startFakes } from '../../fakes/fakes.js';
import { defineCampaign, openMessages, runsQueue } from '../../support/campaigns.js';
import { phoneForms, sweepLogs, sweepRedis } from '../../support/privacy-sweep.js';
import { freePort, type RunningRole, startRole, waitFor } from '../../support/process.js';
import { seedAudience, seedOffer } from '../../support/seed.js';
import { exampleEnv } from '../../support/service-env.js';
import { createTestApp, type TestApp } from '../../support/test-app.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';

const PEOPLE = 48;
/** Distinctive personal values, so that a hit in a log or in Redis can only be a leak. */
const person = (g: number) => ({
  first: `Fname${g}q`,
  last: `Lname${g}z`,
  phone: `+3712${1_000_000 + ((g * 7919) % 9_000_000)}`,
  personalCode: `${String((g % 28) + 1).padStart(2, '0')}0690-${String(10_000 + g).padStart(5, '0')}`,
});
const email = (g: number) => `p${g}@example.lv`;
const token = (g: number) => `tok-P${g}-${'x'.repeat(20)}`;

describe('no personal data in Redis or in the logs after a campaign with failures of every kind (N16)', () => {
  let t: TestDatabase;
  let fakes: Fakes;
  let api: TestApp;
  let env: Record<string, string>;
  let baseUrl: string;
  const roles: Record<string, RunningRole> = {};

  beforeAll(async () => {
    t = await createTestDatabase();
    fakes = await startFakes();
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    const providers = {
      ...providerEnv(fakes.ports),
      QUIET_HOURS_DEFAULT: '00:00-00:00',
      PUBLIC_BASE_URL: baseUrl,
    };
    api = await createTestApp(t, providers);
    env = {
      ...exampleEnv(),
      ...providers,
      DATABASE_URL: t.appUrl,
      REDIS_URL: inject('services').redisUrl,
      QUEUE_PREFIX: api.config.redis.queuePrefix,
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: String(port),
      WORKER_CONCURRENCY: '10',
      // everything the processes can say: a leak at debug level is a leak too
      LOG_LEVEL: 'debug',
    };
    await seedAudience(api.deps.db, PEOPLE);
    for (let g = 1; g <= PEOPLE; g++) {
      const p = person(g);
      await sql`
        UPDATE recipients SET first_name = ${p.first}, last_name = ${p.last}, personal_code = ${p.personalCode},
          phone = CASE WHEN phone IS NOT NULL THEN ${p.phone}::text END,
          phone_hash = CASE WHEN phone IS NOT NULL THEN encode(sha256(convert_to(${p.phone}::text, 'UTF8')), 'hex') END
        WHERE client_number = ${`P${g}`}
      `.execute(api.deps.db);
    }
    await seedOffer(api.deps.db, { key: 'general' });
  });
  afterAll(async () => {
    for (const r of Object.values(roles)) r.child.kill('SIGKILL');
    await api.close();
    await fakes.close();
    await t.drop();
  });

  /** Every personal value of every seeded person, in every form a log or a provider could write it. */
  async function personalValues(): Promise<string[]> {
    const rows = await api.deps.db
      .selectFrom('recipients')
      .select(['email', 'phone', 'first_name', 'last_name', 'personal_code'])
      .execute();
    const tokens = await api.deps.db.selectFrom('devices').select('token').execute();
    const values = rows.flatMap((r) => [
      ...(r.email === null ? [] : [r.email]),
      ...(r.phone === null ? [] : phoneForms(r.phone)),
      ...(r.personal_code === null ? [] : [r.personal_code, r.personal_code.replace('-', '')]),
      r.first_name ?? '',
      r.last_name ?? '',
    ]);
    return [...values, ...tokens.map((d) => d.token)].filter((v) => v.length >= 5);
  }

  it('the sweep itself finds a planted value in every kind of Redis key and in a log line', async () => {
    const redis = new Redis(inject('services').redisUrl);
    const planted = `${api.config.redis.queuePrefix}:selftest`;
    const phone = person(3).phone;
    try {
      await redis.set(`${planted}:string`, `x ${email(1)} y`);
      await redis.hset(`${planted}:hash`, 'failedReason', `refused ${phone.slice(1)}`);
      await redis.rpush(`${planted}:list`, `${person(2).first} was here`);
      await redis.sadd(`${planted}:set`, token(3));
      await redis.zadd(`${planted}:zset`, 1, person(4).personalCode);
      await redis.xadd(`${planted}:stream`, '*', 'event', 'failed', 'failedReason', `no ${phone.slice(4)}`);
      await redis.set(`${planted}:${email(5)}`, 'in the key name');
      const values = await personalValues();
      const sweep = await sweepRedis(inject('services').redisUrl, planted, values);
      expect(sweep.types).toEqual({ string: 2, hash: 1, list: 1, set: 1, zset: 1, stream: 1 });
      expect(sweep.leaks.map((l) => l.value).sort()).toEqual(
        [
          email(1),
          phone.slice(1),
          phone.slice(4), // the national form, inside the same number without its plus
          person(2).first,
          token(3),
          person(4).personalCode,
          phone.slice(4),
          email(5),
        ].sort(),
      );
      const logs = sweepLogs({ worker: `{"msg":"ok"}\n{"msg":"sent to ${person(6).last}"}\n` }, values);
      expect(logs).toEqual([expect.objectContaining({ where: 'log worker#2', value: person(6).last })]);
    } finally {
      const keys = await redis.keys(`${planted}*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    }
  });

  it('after retries, hard bounces, invalid numbers, dead tokens, dropped answers, failed jobs and webhooks, no key, value or log line holds an address, number, name, token or personal code', async () => {
    const e = fakes.faults('email');
    e.add({ to: email(1), times: 1, fault: { type: 'error', status: 451, code: '4.3.0' } });
    e.add({ to: email(2), fault: { type: 'error', status: 550, code: '5.1.1' } });
    e.add({ to: email(3), fault: { type: 'drop' } });
    e.add({ to: email(5), fault: { type: 'error', status: 451, code: '4.7.1' } });
    // 450, not 421: a 421 also closes the SMTP session, so a later attempt may meet the closing
    // connection and record ECONNECTION instead of the reply this test reads back
    e.add({ to: email(6), fault: { type: 'error', status: 450, code: '4.2.2' } });
    e.add({ to: email(7), fault: { type: 'error', status: 554, code: '5.1.1', stage: 'data' } });
    const s = fakes.faults('sms');
    s.add({ to: person(4).phone, fault: { type: 'error', status: 400, code: 21211 } });
    s.add({ to: person(8).phone, times: 1, fault: { type: 'error', status: 429, retryAfterSeconds: 1 } });
    s.add({ to: person(12).phone, fault: { type: 'error', status: 500 } });
    s.add({ to: person(16).phone, fault: { type: 'drop' } });
    s.add({ to: person(20).phone, times: 1, fault: { type: 'error', status: 503 } });
    s.add({ to: person(28).phone, fault: { type: 'error', status: 400, code: 21614 } });
    const p = fakes.faults('push');
    p.add({ to: token(15), fault: { type: 'error', status: 404, code: 'UNREGISTERED' } });
    p.add({ to: token(30), fault: { type: 'error', status: 400 } });
    p.add({ to: token(45), times: 1, fault: { type: 'error', status: 503 } });

    const start = (role: string) => {
      roles[role] = startRole([role], env);
    };
    for (const role of ['api', 'campaign-runner', 'maintenance']) start(role);
    await waitFor(
      'the api to answer',
      async () => (await fetch(`${baseUrl}/healthz`).catch(() => undefined))?.ok === true,
      120_000,
    );

    const campaign = await defineCampaign(api.deps, {
      name: 'sweep',
      purpose: 'service_offers',
      channels: ['email', 'sms', 'push'],
      quiet_hours: '00:00-00:00',
      frequency_cap: '4/7d',
    });
    const { runId } = await startRun(api.deps.db, runsQueue(api.deps), {
      campaignId: campaign.id,
      trigger: 'manual',
      occurrenceKey: 'sweep',
    });
    await waitFor(
      'the runner process to finish the run',
      async () =>
        (
          await api.deps.db
            .selectFrom('campaign_runs')
            .select('status')
            .where('id', '=', runId)
            .executeTakeFirstOrThrow()
        ).status === 'completed',
      120_000,
    );
    const messageOf = async (client: string, channel: 'email' | 'sms' | 'push') =>
      await api.deps.db
        .selectFrom('messages as m')
        .innerJoin('recipients as r', 'r.id', 'm.recipient_id')
        .select(['m.id', 'm.status', 'm.provider_message_id'])
        .where('m.run_id', '=', runId)
        .where('r.client_number', '=', client)
        .where('m.channel', '=', channel)
        .executeTakeFirstOrThrow();
    // p5's job gets two attempts only, so that it runs out of them here and ends in BullMQ's failed
    // set with its failedReason and stacktrace; p6's keeps eight and waits, delayed, with its own.
    const outOfAttempts = await messageOf('P5', 'email');
    const emailQueue = sendQueuesOf(api.deps).email;
    await emailQueue.remove(sendJobId(outOfAttempts.id));
    await emailQueue.add(
      'email',
      { messageId: outOfAttempts.id },
      { jobId: sendJobId(outOfAttempts.id), attempts: 2, backoff: { type: 'fixed', delay: 200 } },
    );
    // swept once with every job waiting (lists), and again at the end (failed, delayed, events)
    const values = await personalValues();
    expect(values.length).toBeGreaterThan(PEOPLE * 4);
    const sweepNow = () => sweepRedis(inject('services').redisUrl, api.config.redis.queuePrefix, values);
    const waiting = await sweepNow();
    expect(waiting.leaks).toEqual([]);
    for (const role of ['email', 'sms', 'push']) start(role);

    const stillWaiting = await messageOf('P6', 'email');
    await waitFor(
      'every message but the one always refused to end, and a job in the failed set',
      async () => {
        const open = await openMessages(api.deps, runId);
        const failed = await emailQueue.getJobCountByTypes('failed');
        return open === 1 && failed >= 1 && (await messageOf('P6', 'email')).status === 'queued';
      },
      180_000,
    );
    expect((await emailQueue.getJob(sendJobId(stillWaiting.id)))?.failedReason).toMatch(/4\.2\.2/);
    expect((await emailQueue.getFailed()).map((j) => j.id)).toContain(sendJobId(outOfAttempts.id));

    // the api process: status callbacks, a STOP, bounces (one malformed), a one-click unsubscribe
    const twilioPost = async (path: string, params: Record<string, string>) => {
      const url = `${baseUrl}${path}`;
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-twilio-signature': twilio.getExpectedTwilioSignature(
            api.config.sms?.authToken ?? '',
            url,
            params,
          ),
        },
        body: new URLSearchParams(params).toString(),
      });
      return response.status;
    };
    const delivered = await messageOf('P24', 'sms');
    const undelivered = await messageOf('P32', 'sms');
    expect(
      await twilioPost('/webhooks/twilio/status', {
        MessageSid: delivered.provider_message_id ?? '',
        MessageStatus: 'delivered',
        To: person(24).phone,
      }),
    ).toBe(204);
    expect(
      await twilioPost('/webhooks/twilio/status', {
        MessageSid: undelivered.provider_message_id ?? '',
        MessageStatus: 'undelivered',
        ErrorCode: '30005',
        To: person(32).phone,
      }),
    ).toBe(204);
    expect(
      await twilioPost('/webhooks/twilio/inbound', {
        From: person(36).phone,
        Body: 'STOP',
        MessageSid: 'SMin1',
      }),
    ).toBe(200);
    const ops = await api.key(['ops']);
    const bounce = (body: unknown) =>
      fetch(`${baseUrl}/webhooks/bounces`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ops}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await bounce({ type: 'hard_bounce', email: email(9) })).status).toBe(200);
    expect(
      (await bounce({ type: 'complaint', message_id: (await messageOf('P11', 'email')).id })).status,
    ).toBe(200);
    expect((await bounce({ type: 'hard_bounce', email: email(13), note: email(13) })).status).toBe(400);
    const unsubscribe = signLink(api.config.signing, {
      kind: 'unsubscribe',
      messageId: (await messageOf('P14', 'email')).id,
      iat: Math.floor(Date.now() / 1000),
    });
    const oneClick = await fetch(`${baseUrl}/u/${unsubscribe}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(oneClick.status).toBe(200);

    // the outcomes happened: this is a campaign with failures of every kind, not a quiet one
    const statuses = await api.deps.db
      .selectFrom('messages')
      .select(['status', sql<number>`count(*)::int`.as('n')])
      .where('run_id', '=', runId)
      .groupBy('status')
      .execute();
    const count = Object.fromEntries(statuses.map((r) => [r.status, r.n]));
    expect(count.sent).toBeGreaterThan(30);
    expect(count.indeterminate).toBe(3);
    expect(count.failed).toBeGreaterThanOrEqual(7);
    expect((await messageOf('P32', 'sms')).status).toBe('failed');
    // the providers' refusals named the person (as real ones do); what was kept of them is scrubbed
    const details = await api.deps.db
      .selectFrom('messages as m')
      .innerJoin('recipients as r', 'r.id', 'm.recipient_id')
      .select(['r.client_number', 'm.channel', 'm.error_detail'])
      .where('m.run_id', '=', runId)
      .where('m.status', '=', 'failed')
      .execute();
    const detail = (client: string, channel: string) =>
      details.find((d) => d.client_number === client && d.channel === channel)?.error_detail;
    expect(detail('P2', 'email')).toContain('[email]');
    expect(detail('P4', 'sms')).toContain('[phone]');

    // stop every process gracefully, so that every log line is written out
    for (const r of Object.values(roles)) r.child.kill('SIGTERM');
    expect(await Promise.all(Object.values(roles).map((r) => r.exited))).toEqual(
      Object.values(roles).map(() => 0),
    );

    const end = await sweepNow();
    expect(end.leaks).toEqual([]);
    // BullMQ keeps jobs in hashes, queues in lists and sorted sets, events in streams: all were read
    for (const type of ['hash', 'list', 'zset', 'stream']) {
      const read = (waiting.types[type] ?? 0) + (end.types[type] ?? 0);
      expect(read, `${type}: ${JSON.stringify([waiting.types, end.types])}`).toBeGreaterThan(0);
    }

    const logs = Object.fromEntries(Object.entries(roles).map(([name, r]) => [name, r.output()]));
    for (const role of ['api', 'campaign-runner', 'email', 'sms', 'push']) {
      expect(logs[role]?.split('\n').length, `${role} wrote log lines`).toBeGreaterThan(2);
    }
    expect(sweepLogs({ ...logs, 'test-app': api.logs.join('') }, values)).toEqual([]);
  }, 420_000);
});
