import https from 'node:https';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { type Job, Queue, Worker } from 'bullmq';
import { deleteApp, initializeApp } from 'firebase-admin/app';
import { getMessaging } from 'firebase-admin/messaging';
import { Redis } from 'ioredis';
import nodemailer from 'nodemailer';
import pg from 'pg';
import twilio from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient.js';
import { parseCampaign } from '../../src/campaigns/campaign.js';
import { createCampaign } from '../../src/campaigns/campaigns.repository.js';
import { runCampaign } from '../../src/campaigns/runner.js';
import { startRun } from '../../src/campaigns/runs.repository.js';
import { SANDBOX_ACCESS_TOKEN } from '../../src/channels/push/push-provider.js';
import { createChannelSender } from '../../src/channels/senders.js';
import { type Config, loadConfig } from '../../src/config/config.js';
import { createBatcher } from '../../src/delivery/batcher.js';
import { claimBatch } from '../../src/delivery/claim.js';
import { createContentRenderer } from '../../src/delivery/content.js';
import { SendPace } from '../../src/delivery/send-pace.js';
import type { ChannelSender } from '../../src/delivery/sender.js';
import { DEFAULT_WORKER_OPTIONS, startChannelWorker } from '../../src/delivery/worker.js';
import { buildDeps, closeDeps } from '../../src/deps.js';
import type { Channel } from '../../src/domain/vocabulary.js';
import { createLogger } from '../../src/logging/logger.js';
import { CAMPAIGN_RUNS_QUEUE, SEND_QUEUES } from '../../src/queue/names.js';
import { sendQueuesOf } from '../../src/queue/queues.js';
import { parseSendJob, SEND_JOB_OPTIONS, sendJobId } from '../../src/queue/send-jobs.js';
import { FakesClient } from '../../test/fakes/client.js';
import { NOTICE_VERSION, seedNotice } from '../../test/support/fixtures.js';
import { seedOffer } from '../../test/support/seed.js';
import { exampleEnv } from '../../test/support/service-env.js';
import { createMigratedDatabase, dropRunDatabases } from '../lib/database.js';
import { type FakesProcess, startFakesProcess, stopFakesProcess } from '../lib/fakes-process.js';
import { deleteKeys, deleteRunKeys, redisPrefix } from '../lib/redis.js';
import type { Benchmark, JsonValue, VariantContext, VariantOutcome } from '../lib/types.js';

/**
 * Issue 5's delivery benchmarks (docs/benchmarks.md):
 * - `delivery-<channel>`: N queued messages of one channel through the channel worker (claim and
 *   re-check, load and render, send through the real SDK to the fake, record), against the bare SDK
 *   sending N messages of the same size to the same fake at the same concurrency. The fakes run in
 *   a process of their own.
 * - `delivery-pipeline`: the same worker with a provider that accepts at once, against a BullMQ
 *   Worker whose processor returns at once, over the same N jobs at the same concurrency.
 */

type Setup = {
  appUrl: string;
  ownerUrl: string;
  channel: Channel;
  messages: number;
  ids: { first: number; last: number };
  concurrency: number;
  fakes: FakesProcess | null;
  /** One message as our worker renders it: the baseline sends N of the same size. */
  sample: { [key: string]: JsonValue };
};
type Prepared = { prefix: string };
type Ctx = VariantContext<Setup, Prepared>;

const silent = () => createLogger({ level: 'silent', name: 'bench' });

/**
 * BENCH_PROVIDER_DELAY_MS: the fakes answer each message this many milliseconds late (an SMTP relay
 * taking 200 ms a message, say), for baseline and subjects alike. 0 (default): at once.
 */
function providerDelayMs(): number {
  const n = Number(process.env.BENCH_PROVIDER_DELAY_MS ?? 0);
  if (!Number.isInteger(n) || n < 0 || n > 10_000) throw new Error('BENCH_PROVIDER_DELAY_MS must be 0-10000');
  return n;
}

/** BENCH_CONCURRENCY, else WORKER_CONCURRENCY's default: jobs in flight for both variants. */
function concurrency(): number {
  const n = Number(process.env.BENCH_CONCURRENCY ?? 100);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new Error('BENCH_CONCURRENCY must be 1-1000');
  return n;
}

function configFor(setup: Setup, redisUrl: string, prefix: string): Config {
  const fakes = setup.fakes;
  const loaded = loadConfig({
    ...exampleEnv(),
    DATABASE_URL: setup.appUrl,
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: prefix,
    LOG_LEVEL: 'silent',
    QUIET_HOURS_DEFAULT: '00:00-00:00',
    WORKER_CONCURRENCY: String(setup.concurrency),
    ...(fakes === null
      ? {}
      : {
          SMTP_URL: `smtp://127.0.0.1:${fakes.smtp}`,
          TWILIO_API_BASE_URL: `http://127.0.0.1:${fakes.twilio}`,
          FCM_API_BASE_URL: `http://127.0.0.1:${fakes.fcm}`,
        }),
  });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
  return loaded.config;
}

/** Runs `fn(0..n-1)` with at most `c` calls in flight; returns each call's latency. */
async function inFlight(n: number, c: number, fn: (i: number) => Promise<void>): Promise<number[]> {
  const latencies: number[] = [];
  let next = 0;
  const lane = async () => {
    while (next < n) {
      const i = next++;
      const started = performance.now();
      await fn(i);
      latencies.push(performance.now() - started);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, c) }, lane));
  return latencies;
}

/** N people, every one reachable and consenting on `channel`; a campaign run makes their messages. */
async function seedMessages(
  setup: Omit<Setup, 'messages' | 'ids' | 'sample'>,
  n: number,
  redisUrl: string,
  prefix: string,
) {
  const config = configFor(
    { ...setup, messages: n, ids: { first: 0, last: 0 }, sample: {} },
    redisUrl,
    prefix,
  );
  const deps = buildDeps(config, { role: 'bench-seed', logger: silent() });
  try {
    const { db } = deps;
    await seedNotice(db);
    const owner = new pg.Client({ connectionString: setup.ownerUrl });
    await owner.connect();
    try {
      await owner.query(
        `INSERT INTO recipients (client_number, first_name, last_name, email, email_hash, phone, phone_hash, locale, time_zone)
         SELECT 'B' || g, 'Name' || g, 'Surname' || g, 'b' || g || '@example.lv',
                encode(sha256(convert_to('b' || g || '@example.lv', 'UTF8')), 'hex'),
                '+3712' || lpad(g::text, 7, '0'), encode(sha256(convert_to('+3712' || lpad(g::text, 7, '0'), 'UTF8')), 'hex'),
                'lv', 'Europe/Riga'
         FROM generate_series(1, $1::int) AS g`,
        [n],
      );
      // FCM tokens are ~150 characters
      await owner.query(
        `INSERT INTO devices (recipient_id, token, platform) SELECT id, 'tok-' || id || ':' || repeat('x', 140), 'android' FROM recipients`,
      );
      await owner.query(
        `INSERT INTO consents (recipient_id, purpose, channel, status, source, occurred_at, notice_version)
         SELECT id, 'service_offers', $1, 'granted', 'import', now() - interval '1 day', $2 FROM recipients`,
        [setup.channel, NOTICE_VERSION],
      );
    } finally {
      await owner.end();
    }
    await seedOffer(db, { key: 'general' });
    const parsed = parseCampaign(
      {
        name: 'bench delivery',
        purpose: 'service_offers',
        channels: [setup.channel],
        quiet_hours: '00:00-00:00',
        frequency_cap: '4/7d',
      },
      config.policy,
    );
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    const campaign = await createCampaign(db, parsed.value, { type: 'system', id: 'bench' });
    const runs = deps.queues.get(CAMPAIGN_RUNS_QUEUE);
    if (!runs) throw new Error('no runs queue');
    const { runId } = await startRun(db, runs, {
      campaignId: campaign.id,
      trigger: 'manual',
      occurrenceKey: 'b',
    });
    await runCampaign({ db, logger: deps.logger, config, sendQueues: sendQueuesOf(deps) }, runId, {
      owner: 'bench',
      chunkSize: 5_000,
      leaseMs: 120_000,
    });
    const ids = await db
      .selectFrom('messages')
      .select((eb) => [eb.fn.min('id').as('first'), eb.fn.max('id').as('last'), eb.fn.countAll().as('n')])
      .executeTakeFirstOrThrow();
    const first = Number(ids.first);
    // claimed once to render it (every slot puts the outbox back to queued before it starts)
    const [claimed] = await claimBatch(deps.pool, setup.channel, [first], {
      leaseSeconds: 60,
      pausedRetrySeconds: 15,
      policy: config.policy,
    });
    if (claimed?.fields === undefined) throw new Error('the sample message could not be claimed');
    const [sample] = await createContentRenderer(db, config)(setup.channel, [claimed.fields]);
    if (!sample?.ok) throw new Error('the sample message did not render');
    const { messageId: _id, ...content } = sample.message;
    return {
      messages: Number(ids.n),
      ids: { first, last: Number(ids.last) },
      sample: JSON.parse(JSON.stringify(content)) as Setup['sample'],
    };
  } finally {
    await closeDeps(deps);
    await deleteKeys(config.redis.url, prefix);
  }
}

// --- baselines: the bare SDKs --------------------------------------------------------------------

const str = (setup: Setup, key: string): string => {
  const v = setup.sample[key];
  if (typeof v !== 'string') throw new Error(`sample has no ${key}`);
  return v;
};

/** The bare SDK, one message at a time: message `i` goes to the seeded person i + 1. */
interface BareSender {
  send(i: number): Promise<void>;
  close(): Promise<void>;
}

function bareEmail(ctx: Ctx): BareSender {
  const { setup } = ctx;
  const transporter = nodemailer.createTransport({
    host: '127.0.0.1',
    port: setup.fakes?.smtp ?? 0,
    secure: false,
    ignoreTLS: true,
    pool: true,
    maxConnections: 5,
    maxMessages: 100,
    logger: false,
  });
  const headers = setup.sample.headers as Record<string, string>;
  const from = exampleEnv().MAIL_FROM ?? 'no-reply@example.lv';
  return {
    async send(i) {
      await transporter.sendMail({
        from,
        to: `b${i + 1}@example.lv`,
        subject: str(setup, 'subject'),
        html: str(setup, 'html'),
        text: str(setup, 'text'),
        headers,
      });
    },
    close: async () => transporter.close(),
  };
}

/** Twilio's supported hook, and nothing else: every call goes to the fake. */
class ToFake extends twilio.RequestClient {
  readonly #base: string;
  constructor(base: string, options: RequestClient.RequestClientOptions) {
    super(options);
    this.#base = base;
  }
  override request<TData>(opts: RequestClient.RequestOptions<TData>) {
    const url = new URL(opts.uri);
    return super.request({ ...opts, uri: `${this.#base}${url.pathname}${url.search}` });
  }
}

function bareSms(ctx: Ctx): BareSender {
  const { setup } = ctx;
  const env = exampleEnv();
  const client = twilio(env.TWILIO_ACCOUNT_SID, env.TWILIO_AUTH_TOKEN, {
    httpClient: new ToFake(`http://127.0.0.1:${setup.fakes?.twilio}`, {
      keepAlive: true,
      autoRetry: false,
      timeout: 15_000,
    }),
    autoRetry: false,
  });
  return {
    async send(i) {
      await client.messages.create({
        to: `+3712${String(i + 1).padStart(7, '0')}`,
        body: str(setup, 'body'),
        statusCallback: str(setup, 'statusCallbackUrl'),
        from: env.TWILIO_FROM ?? 'Klix',
      });
    },
    close: async () => undefined,
  };
}

/** firebase-admin's supported hook, and nothing else: connections go to the fake. */
class FakeAgent extends https.Agent {
  readonly #port: number;
  constructor(port: number) {
    super({ keepAlive: true, maxSockets: 128 });
    this.#port = port;
  }
  override createConnection(): Duplex {
    return net.connect(this.#port, '127.0.0.1');
  }
}

function barePush(ctx: Ctx, name: string): BareSender {
  const { setup } = ctx;
  const app = initializeApp(
    {
      projectId: exampleEnv().FCM_PROJECT_ID ?? 'klix-demo',
      credential: { getAccessToken: async () => ({ access_token: SANDBOX_ACCESS_TOKEN, expires_in: 3600 }) },
      httpAgent: new FakeAgent(setup.fakes?.fcm ?? 0),
    },
    `${name}-${ctx.slot.index}`,
  );
  const messaging = getMessaging(app);
  messaging.enableLegacyHttpTransport();
  const data = setup.sample.data as Record<string, string>;
  return {
    async send(i) {
      await messaging.send({
        token: `tok-${i + 1}:${'x'.repeat(140)}`,
        notification: { title: str(setup, 'title'), body: str(setup, 'body') },
        data,
      });
    },
    close: () => deleteApp(app),
  };
}

const BARE: Record<Channel, (ctx: Ctx, name: string) => BareSender> = {
  email: bareEmail,
  sms: bareSms,
  push: barePush,
};

/** The baseline of a channel: the bare SDK sending N messages at the concurrency, no queue, no database. */
async function bareSdk(ctx: Ctx): Promise<VariantOutcome> {
  const sender = BARE[ctx.setup.channel](ctx, 'bench-bare');
  let sent = 0;
  const latenciesMs = await inFlight(ctx.setup.messages, ctx.setup.concurrency, async (i) => {
    await sender.send(i);
    sent++;
  });
  await sender.close();
  return { operations: sent, latenciesMs };
}

// --- subjects: our channel worker ----------------------------------------------------------------

/** Runs the channel worker until every job of the slot is done; operations = messages sent. */
async function ourWorker(ctx: Ctx, sender: (config: Config) => ChannelSender): Promise<VariantOutcome> {
  const { setup } = ctx;
  const config = configFor(setup, ctx.services.redisUrl, ctx.prepared.prefix);
  const deps = buildDeps(config, { role: 'bench-worker', logger: silent() });
  let sent = 0;
  let done = 0;
  const claimToHandoffMs: number[] = [];
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  try {
    const { worker, stop } = startChannelWorker(deps, setup.channel, sender(config), {
      ...DEFAULT_WORKER_OPTIONS,
      concurrency: setup.concurrency,
      ratePerSecond: 100_000,
      onHandoff: (_channel, ms) => claimToHandoffMs.push(ms),
    });
    const count = (result: unknown) => {
      if ((result as { result?: string } | undefined)?.result === 'sent') sent++;
      done++;
      if (done >= setup.messages) finish();
    };
    worker.on('completed', (_job, result) => count(result));
    worker.on('failed', () => count(undefined));
    await finished;
    await stop();
    return { operations: sent, claimToHandoffMs };
  } finally {
    await closeDeps(deps);
  }
}

const NOOP_SENDER: ChannelSender = {
  // a provider that answers at once hands off whatever the worker holds (WORKER_CONCURRENCY)
  capacity: 1000,
  send: async (m) => ({ kind: 'accepted', providerId: `noop-${m.messageId}` }),
  close: async () => undefined,
};

/**
 * A plain BullMQ Worker on the slot's send queue, at the slot's concurrency, until every job has
 * completed or failed; returns how many completed.
 */
async function drainSendQueue(ctx: Ctx, processor: (job: Job) => Promise<void>): Promise<number> {
  const { setup } = ctx;
  const connection = new Redis(ctx.services.redisUrl, { maxRetriesPerRequest: null });
  let completed = 0;
  let ended = 0;
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const worker = new Worker(SEND_QUEUES[setup.channel], processor, {
    connection,
    prefix: ctx.prepared.prefix,
    concurrency: setup.concurrency,
  });
  const end = () => {
    ended++;
    if (ended >= setup.messages) finish();
  };
  worker.on('completed', () => {
    completed++;
    end();
  });
  worker.on('failed', end);
  await finished;
  await worker.close();
  connection.disconnect();
  return completed;
}

async function noopWorker(ctx: Ctx): Promise<VariantOutcome> {
  return { operations: await drainSendQueue(ctx, async () => undefined) };
}

/**
 * FACTS.md's measured design, as a yardstick in the same run: its "claim+recheck UPDATE" (the message
 * still queued and its consent granted, nothing else) and its record UPDATE, each micro-batched
 * across concurrent jobs (gathered as our worker gathers, up to 200 ids), on the same outbox, as named
 * statements on a pg pool of 20; between them the bare SDK's send of the sample (none in the
 * pipeline). No frequency cap, quiet hours, markers, suppression, offer or campaign check, no locks,
 * no event row, no read of what the channel sends with and no rendering: what separates it from our
 * worker is the price of those. A yardstick only, never a way to send.
 */
const FACTS_CLAIM = {
  name: 'bench_facts_claim',
  text: `UPDATE messages m SET status = 'sending', attempts = m.attempts + 1, claimed_at = now(),
           lease_expires_at = now() + interval '300 seconds'
         FROM consents c
         WHERE m.id = ANY ($1::bigint[]) AND m.status = 'queued' AND c.recipient_id = m.recipient_id
           AND c.purpose = m.purpose AND c.channel = m.channel AND c.status = 'granted'
         RETURNING m.id`,
} as const;
const FACTS_RECORD = {
  name: 'bench_facts_record',
  text: `UPDATE messages m SET status = 'sent', provider_message_id = u.provider_id, sent_at = now(),
           finished_at = now(), lease_expires_at = NULL
         FROM unnest($1::bigint[], $2::text[]) AS u(id, provider_id)
         WHERE m.id = u.id AND m.status = 'sending'
         RETURNING m.id`,
} as const;

/** Runs a batch's statement; true for each id it changed. */
function factsBatcher(pool: pg.Pool, pace: SendPace, statement: (ids: readonly number[]) => pg.QueryConfig) {
  return createBatcher<number, boolean>(
    async (ids) => {
      const { rows } = await pool.query<{ id: string }>(statement(ids));
      const changed = new Set(rows.map((r) => Number(r.id)));
      return ids.map((id) => changed.has(id));
    },
    { maxWaitMs: () => pace.gatherMs(), maxSize: 200 },
  );
}

async function factsReference(ctx: Ctx): Promise<VariantOutcome> {
  const { setup } = ctx;
  const pool = new pg.Pool({ connectionString: setup.appUrl, max: 20 });
  const sender = setup.fakes === null ? null : BARE[setup.channel](ctx, 'bench-reference');
  // Batches gather as our worker's do (one turn of the event loop with quick sends, a share of the
  // send time with slow ones): FACTS.md's fixed 2 ms costs it 0.52 → 0.42 at 100 in flight.
  const pace = new SendPace();
  const claims = factsBatcher(pool, pace, (ids) => ({ ...FACTS_CLAIM, values: [ids] }));
  const records = factsBatcher(pool, pace, (ids) => ({
    ...FACTS_RECORD,
    values: [ids, ids.map((id) => `ref-${id}`)],
  }));
  let sent = 0;
  await drainSendQueue(ctx, async (job) => {
    const data = parseSendJob(job.data);
    if (!data) throw new Error('not a send job');
    if (!(await claims.submit(data.messageId))) return;
    if (sender !== null) {
      const started = performance.now();
      await sender.send(data.messageId - setup.ids.first);
      pace.observe(performance.now() - started);
    }
    if (await records.submit(data.messageId)) sent++;
  });
  await sender?.close();
  await pool.end();
  return { operations: sent };
}

const REFERENCE_VARIANT = {
  name: 'facts-reference',
  role: 'subject',
  description:
    "FACTS.md's yardstick: consent-only claim UPDATE and record UPDATE, micro-batched as ours, around the bare SDK's send",
  run: factsReference,
} as const;

// --- the benchmarks ------------------------------------------------------------------------------

function hooks(channel: Channel, withFakes: boolean) {
  return {
    async setup(ctx: Parameters<Benchmark<Setup, Prepared>['setup']>[0]): Promise<Setup> {
      const fakes = withFakes ? await startFakesProcess() : null;
      const delayMs = providerDelayMs();
      if (fakes !== null && delayMs > 0)
        await new FakesClient(fakes.control).addFault(channel, { fault: { type: 'delay', ms: delayMs } });
      const database = await createMigratedDatabase(ctx, channel);
      const base = {
        appUrl: database.appUrl,
        ownerUrl: database.ownerUrl,
        channel,
        concurrency: concurrency(),
        fakes,
      };
      const seeded = await seedMessages(base, ctx.size, ctx.services.redisUrl, `${redisPrefix(ctx)}:seed`);
      if (seeded.messages !== ctx.size)
        throw new Error(`seeded ${seeded.messages} messages, not ${ctx.size}`);
      const owner = new pg.Client({ connectionString: database.ownerUrl });
      await owner.connect();
      await owner.query('VACUUM ANALYZE');
      await owner.end();
      return { ...base, ...seeded };
    },

    async beforeEach(ctx: VariantContext<Setup, null>): Promise<Prepared> {
      const prefix = redisPrefix(ctx, ctx.slot);
      const { setup } = ctx;
      // every slot starts from the same outbox: all queued, nothing recorded
      const owner = new pg.Client({ connectionString: setup.ownerUrl });
      await owner.connect();
      try {
        await owner.query(`UPDATE messages SET status = 'queued', attempts = 0, claimed_at = NULL, lease_expires_at = NULL,
          provider_message_id = NULL, error_code = NULL, error_detail = NULL, sent_at = NULL, finished_at = NULL,
          skip_reason = NULL, not_before = NULL, claim_batch = NULL`);
        await owner.query('DELETE FROM message_events');
        await owner.query('DELETE FROM send_handoffs');
        await owner.query('VACUUM ANALYZE messages, message_events, send_handoffs');
      } finally {
        await owner.end();
      }
      if (setup.fakes !== null) await new FakesClient(setup.fakes.control).clearDeliveries();
      const needsJobs = ctx.slot.role === 'subject' || setup.fakes === null;
      if (needsJobs) {
        const connection = new Redis(ctx.services.redisUrl, { maxRetriesPerRequest: null });
        const queue = new Queue(SEND_QUEUES[channel], { connection, prefix });
        try {
          for (let from = setup.ids.first; from <= setup.ids.last; from += 1_000) {
            const jobs = [];
            for (let id = from; id < Math.min(from + 1_000, setup.ids.last + 1); id++) {
              jobs.push({
                name: channel,
                data: { messageId: id },
                opts: { ...SEND_JOB_OPTIONS, jobId: sendJobId(id) },
              });
            }
            await queue.addBulk(jobs);
          }
        } finally {
          await queue.close();
          connection.disconnect();
        }
      }
      return { prefix };
    },

    async afterEach(ctx: Ctx): Promise<void> {
      const { setup } = ctx;
      await deleteKeys(ctx.services.redisUrl, ctx.prepared.prefix);
      const delivered =
        setup.fakes === null
          ? undefined
          : (await new FakesClient(setup.fakes.control).deliveries({ channel })).length;
      if (ctx.slot.role === 'baseline') {
        // the bare SDK fails its run on any error: every message reached the fake
        if (delivered !== undefined && delivered !== setup.messages) {
          throw new Error(
            `${ctx.slot.variant}: the fake received ${delivered} messages, not ${setup.messages}`,
          );
        }
        return;
      }
      const owner = new pg.Client({ connectionString: setup.ownerUrl });
      await owner.connect();
      const { rows } = await owner.query<{ status: string; code: string | null; n: number }>(
        'SELECT status, error_code AS code, count(*)::int AS n FROM messages GROUP BY 1, 2 ORDER BY 1, 2',
      );
      await owner.end();
      const sent = rows.filter((r) => r.status === 'sent').reduce((a, r) => a + r.n, 0);
      const others = rows.filter((r) => r.status !== 'sent');
      // ops/s counts sent messages only; a loaded machine can time some sends out (reported here)
      if (others.length > 0)
        process.stderr.write(`bench: ${ctx.slot.variant} not sent: ${JSON.stringify(others)}\n`);
      if (sent < setup.messages * 0.95 || (delivered !== undefined && delivered < sent)) {
        throw new Error(
          `${ctx.slot.variant}: ${sent} sent, ${delivered ?? '-'} at the fake, of ${setup.messages}`,
        );
      }
    },

    async teardown(ctx: Parameters<Benchmark<Setup, Prepared>['teardown']>[0], setup: Setup | undefined) {
      stopFakesProcess(setup?.fakes ?? undefined);
      await deleteRunKeys(ctx);
      await dropRunDatabases(ctx);
    },
  };
}

export function channelBenchmark(channel: Channel): Benchmark<Setup, Prepared> {
  return {
    name: `delivery-${channel}`,
    description: `${channel}: channel worker (claim, re-check, render, send to the fake, record) vs the bare SDK`,
    defaultSize: channel === 'email' ? 5_000 : 3_000,
    ...hooks(channel, true),
    variants: [
      {
        name: 'bare-sdk',
        role: 'baseline',
        description: 'the bare SDK sending the same number of same-size messages at the same concurrency',
        run: bareSdk,
      },
      {
        name: 'channel-worker',
        role: 'subject',
        description: 'startChannelWorker with the real provider, jobs from BullMQ',
        run: (ctx) => ourWorker(ctx, (config) => createChannelSender(channel, config)),
      },
      REFERENCE_VARIANT,
    ],
  };
}

export const pipelineBenchmark: Benchmark<Setup, Prepared> = {
  name: 'delivery-pipeline',
  description: 'channel worker with a provider that accepts at once vs a no-op BullMQ worker',
  defaultSize: 20_000,
  ...hooks('email', false),
  variants: [
    {
      name: 'noop-worker',
      role: 'baseline',
      description: 'a BullMQ Worker whose processor returns at once, same jobs and concurrency',
      run: noopWorker,
    },
    {
      name: 'noop-provider',
      role: 'subject',
      description: 'startChannelWorker (claim, re-check, render, record) with a no-op provider',
      run: (ctx) => ourWorker(ctx, () => NOOP_SENDER),
    },
    REFERENCE_VARIANT,
  ],
};
