import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { parseCampaign } from '../../src/campaigns/campaign.js';
import { createCampaign } from '../../src/campaigns/campaigns.repository.js';
import { runCampaign } from '../../src/campaigns/runner.js';
import { startRun } from '../../src/campaigns/runs.repository.js';
import { loadConfig } from '../../src/config/config.js';
import { createDb, createPool } from '../../src/db/database.js';
import { buildDeps, closeDeps } from '../../src/deps.js';
import { createLogger } from '../../src/logging/logger.js';
import { CAMPAIGN_RUNS_QUEUE } from '../../src/queue/names.js';
import { sendQueuesOf } from '../../src/queue/queues.js';
import { SEND_JOB_OPTIONS, sendJobId } from '../../src/queue/send-jobs.js';
import { seedAudience, seedOffer } from '../../test/support/seed.js';
import { exampleEnv } from '../../test/support/service-env.js';
import { cloneDatabase, dropRunDatabases, keptDatabase } from '../lib/database.js';
import { deleteKeys, deleteRunKeys, redisPrefix } from '../lib/redis.js';
import type { Benchmark, VariantContext, VariantOutcome } from '../lib/types.js';

/**
 * Issue 4's fan-out: a campaign run over N seeded people — segmentation SQL, offer matching, outbox
 * rows, exclusions, checkpoints, and addBulk of ids-only jobs to the channel queues — measured in
 * messages written and enqueued per second against raw BullMQ addBulk of the same number of ids-only
 * jobs in the same run. The runner's peak RSS is the child's (it streams: keyset chunks).
 */

const CHUNK = 5_000;
type Setup = { database: string; appUrl: string; ownerUrl: string; messages: number };
type Prepared = { prefix: string; campaignId: number };
type Ctx = VariantContext<Setup, Prepared>;

/** How many messages the seed (test/support/seed.ts) makes reachable: e-mail, SMS and push. */
function expectedMessages(n: number): number {
  let total = 0;
  for (let g = 1; g <= n; g++) {
    if (g % 101 === 0) continue;
    if (g % 10 !== 0 && g % 17 !== 0) total++;
    if (g % 4 === 0 && g % 13 !== 0) total++;
    if (g % 5 === 0 && g % 3 === 0) total++;
  }
  return total;
}

/** The seed below; change it when the seeding changes (with the schema and seed.ts it keys the kept database). */
const SEED_VERSION = 'offers travel+general v1';

async function fixtureVersion(): Promise<string> {
  const root = new URL('../../', import.meta.url);
  const hash = createHash('sha256').update(SEED_VERSION);
  const migrations = (await readdir(new URL('migrations/', root))).sort();
  for (const file of migrations)
    hash.update(file).update(await readFile(new URL(`migrations/${file}`, root)));
  for (const file of ['test/support/seed.ts', 'test/support/fixtures.ts'])
    hash.update(await readFile(new URL(file, root)));
  return hash.digest('hex').slice(0, 12);
}

async function seed(appUrl: string, size: number): Promise<void> {
  const pool = createPool({
    url: appUrl,
    max: 2,
    applicationName: 'bench-seed',
    logger: createLogger({ level: 'silent', name: 'bench' }),
  });
  const db = createDb(pool);
  try {
    await seedAudience(db, size);
    await seedOffer(db, {
      key: 'travel',
      priority: 10,
      personalised: true,
      eligibility: { interest: 'travel' },
    });
    await seedOffer(db, { key: 'general', priority: 1 });
  } finally {
    await db.destroy();
  }
}

function configFor(ctx: Ctx) {
  const loaded = loadConfig({
    ...exampleEnv(),
    DATABASE_URL: ctx.setup.appUrl,
    REDIS_URL: ctx.services.redisUrl,
    QUEUE_PREFIX: ctx.prepared.prefix,
    LOG_LEVEL: 'silent',
    RUN_CHUNK_SIZE: String(CHUNK),
  });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
  return loaded.config;
}

async function rawAddBulk(ctx: Ctx): Promise<VariantOutcome> {
  const connection = new Redis(ctx.services.redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue('send-email', { connection, prefix: ctx.prepared.prefix });
  const latenciesMs: number[] = [];
  try {
    for (let from = 1; from <= ctx.setup.messages; from += CHUNK) {
      const started = performance.now();
      const jobs = [];
      for (let id = from; id < Math.min(from + CHUNK, ctx.setup.messages + 1); id++) {
        jobs.push({
          name: 'email',
          data: { messageId: id },
          opts: { ...SEND_JOB_OPTIONS, jobId: sendJobId(id) },
        });
      }
      await queue.addBulk(jobs);
      latenciesMs.push(performance.now() - started);
    }
    return { operations: ctx.setup.messages, latenciesMs };
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

async function campaignRun(ctx: Ctx): Promise<VariantOutcome> {
  const config = configFor(ctx);
  const deps = buildDeps(config, {
    role: 'bench-runner',
    logger: createLogger({ level: 'silent', name: 'bench' }),
  });
  const latenciesMs: number[] = [];
  try {
    const runsQueue = deps.queues.get(CAMPAIGN_RUNS_QUEUE);
    if (!runsQueue) throw new Error('no runs queue');
    const { runId } = await startRun(deps.db, runsQueue, {
      campaignId: ctx.prepared.campaignId,
      trigger: 'manual',
      occurrenceKey: 'bench',
    });
    let last = performance.now();
    await runCampaign({ db: deps.db, logger: deps.logger, config, sendQueues: sendQueuesOf(deps) }, runId, {
      owner: 'bench',
      chunkSize: CHUNK,
      leaseMs: 120_000,
      onChunk: () => {
        const now = performance.now();
        latenciesMs.push(now - last);
        last = now;
      },
    });
    const row = await deps.db
      .selectFrom('messages')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('run_id', '=', runId)
      .executeTakeFirstOrThrow();
    return { operations: Number(row.n), latenciesMs };
  } finally {
    await closeDeps(deps);
  }
}

export const benchmark: Benchmark<Setup, Prepared> = {
  name: 'campaign-fanout',
  description:
    'campaign run over N people (segment, match, write outbox, enqueue) vs raw BullMQ addBulk of the same jobs',
  defaultSize: 200_000,

  async setup(ctx) {
    // Seeding a million people takes minutes: the seeded database is kept between runs (keyed by the
    // schema and the seed) and cloned per run, so only the first run of a size pays for it.
    const kept = await keptDatabase(ctx, `fanout${ctx.size}`, await fixtureVersion(), async (db) => {
      const started = performance.now();
      await seed(db.appUrl, ctx.size);
      const owner = new pg.Client({ connectionString: db.ownerUrl });
      await owner.connect();
      // Frozen and analysed: every clone starts with its hint bits set and its statistics known.
      await owner.query('VACUUM (FREEZE, ANALYZE)');
      await owner.end();
      console.error(
        `bench: seeded ${ctx.size.toLocaleString('en')} people in ${((performance.now() - started) / 1000).toFixed(1)} s`,
      );
    });
    if (kept.reused) console.error(`bench: reusing the seeded database ${kept.name}`);
    const database = await cloneDatabase(ctx, kept.name, 'fanout', 'file_copy');
    return {
      database: database.name,
      appUrl: database.appUrl,
      ownerUrl: database.ownerUrl,
      messages: expectedMessages(ctx.size),
    };
  },

  async beforeEach(ctx) {
    const prefix = redisPrefix(ctx, ctx.slot);
    const pool = createPool({
      url: ctx.setup.appUrl,
      max: 1,
      applicationName: 'bench',
      logger: createLogger({ level: 'silent', name: 'bench' }),
    });
    const db = createDb(pool);
    try {
      const parsed = parseCampaign(
        {
          name: `bench ${ctx.slot.index}`,
          purpose: 'service_offers',
          channels: ['email', 'sms', 'push'],
          quiet_hours: '00:00-00:00',
          frequency_cap: '4/7d',
        },
        loadConfigOrThrow().policy,
      );
      if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
      const campaign = await createCampaign(db, parsed.value, { type: 'system', id: 'bench' });
      return { prefix, campaignId: campaign.id };
    } finally {
      await db.destroy();
    }
  },

  async afterEach(ctx) {
    await deleteKeys(ctx.services.redisUrl, ctx.prepared.prefix);
    // Each slot starts from the same table sizes: the previous slot's outbox goes.
    const owner = new pg.Client({ connectionString: ctx.setup.ownerUrl });
    await owner.connect();
    try {
      await owner.query('TRUNCATE messages, run_exclusions CASCADE');
    } finally {
      await owner.end();
    }
  },

  async teardown(ctx) {
    await deleteRunKeys(ctx);
    await dropRunDatabases(ctx);
  },

  variants: [
    {
      name: 'raw-addbulk',
      role: 'baseline',
      description: 'BullMQ addBulk of the same number of ids-only jobs, 5,000 per call',
      run: rawAddBulk,
    },
    {
      name: 'campaign-run',
      role: 'subject',
      description: 'runCampaign: 5,000-person chunks, SQL overlapped with enqueue',
      run: campaignRun,
    },
  ],
};

function loadConfigOrThrow() {
  const loaded = loadConfig(exampleEnv());
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
  return loaded.config;
}
