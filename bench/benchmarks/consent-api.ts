import { createHash } from 'node:crypto';
import { request } from 'node:http';
import pg from 'pg';
import { createApiKey } from '../../src/auth/api-keys.js';
import { loadConfig } from '../../src/config/config.js';
import { createDb, createPool } from '../../src/db/database.js';
import { buildDeps, closeDeps } from '../../src/deps.js';
import { buildHttpApp } from '../../src/http/app.js';
import { createLogger } from '../../src/logging/logger.js';
import { NOTICE_TEXT, NOTICE_VERSION, seedNotice } from '../../test/support/fixtures.js';
import { exampleEnv } from '../../test/support/service-env.js';
import { createMigratedDatabase, dropRunDatabases } from '../lib/database.js';
import { deleteRunKeys, redisPrefix } from '../lib/redis.js';
import type { Benchmark, VariantContext, VariantOutcome } from '../lib/types.js';

/**
 * Consent writes as the mobile app makes them: one POST per change (grant or withdraw of one purpose
 * on one channel), with an Idempotency-Key, through the real HTTP stack (Fastify, auth, all-parts
 * validation, idempotency, ledger, audit) on loopback — against the same ledger writes done as bare
 * SQL at the same concurrency (insert event + upsert state in one transaction).
 */

const CONCURRENCY = 32;
const PEOPLE = 2_000;
type Setup = { appUrl: string; key: string };
type Ctx = VariantContext<Setup, null>;

const PURPOSES = ['service_offers', 'partner_offers', 'contests', 'feedback'] as const;
const CHANNELS = ['email', 'sms', 'push'] as const;

function change(i: number) {
  return {
    person: (i % PEOPLE) + 1,
    purpose: PURPOSES[i % 4] ?? 'contests',
    channel: CHANNELS[Math.floor(i / 4) % 3] ?? 'email',
    action: i % 7 === 0 ? ('withdraw' as const) : ('grant' as const),
  };
}

async function pool<T>(total: number, worker: (i: number) => Promise<T>): Promise<number[]> {
  const latencies: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < total) {
        const i = next++;
        const started = performance.now();
        await worker(i);
        latencies.push(performance.now() - started);
      }
    }),
  );
  return latencies;
}

async function rawSql(ctx: Ctx): Promise<VariantOutcome> {
  const clients = new pg.Pool({ connectionString: ctx.setup.appUrl, max: 20 });
  const sha = createHash('sha256').update(NOTICE_TEXT, 'utf8').digest('hex');
  try {
    const latenciesMs = await pool(ctx.size, async (i) => {
      const c = change(i);
      const client = await clients.connect();
      try {
        await client.query('BEGIN');
        const { rows } = await client.query<{ id: string }>(
          `INSERT INTO consent_events (recipient_id, purpose, channel, action, source, notice_version, notice_sha256, occurred_at)
           VALUES ($1, $2, $3, $4, 'app', $5, $6, now()) RETURNING id`,
          [
            c.person,
            c.purpose,
            c.channel,
            c.action,
            c.action === 'grant' ? NOTICE_VERSION : null,
            c.action === 'grant' ? sha : null,
          ],
        );
        await client.query(
          `INSERT INTO consents (recipient_id, purpose, channel, status, source, occurred_at, event_id)
           VALUES ($1, $2, $3, $4, 'app', now(), $5)
           ON CONFLICT (recipient_id, purpose, channel) DO UPDATE SET status = excluded.status, occurred_at = excluded.occurred_at,
             event_id = excluded.event_id WHERE excluded.occurred_at >= consents.occurred_at`,
          [c.person, c.purpose, c.channel, c.action === 'grant' ? 'granted' : 'withdrawn', rows[0]?.id],
        );
        await client.query('COMMIT');
      } finally {
        client.release();
      }
    });
    return { operations: ctx.size, latenciesMs };
  } finally {
    await clients.end();
  }
}

async function httpApi(ctx: Ctx): Promise<VariantOutcome> {
  const loaded = loadConfig({
    ...exampleEnv(),
    DATABASE_URL: ctx.setup.appUrl,
    REDIS_URL: ctx.services.redisUrl,
    QUEUE_PREFIX: redisPrefix(ctx, ctx.slot),
    LOG_LEVEL: 'silent',
    HTTP_PORT: '0',
  });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
  const deps = buildDeps(loaded.config, {
    role: 'bench-api',
    logger: createLogger({ level: 'silent', name: 'bench' }),
  });
  const app = await buildHttpApp(deps);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const agent = new (await import('node:http')).Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  try {
    const latenciesMs = await pool(ctx.size, async (i) => {
      const c = change(i);
      const body = JSON.stringify({
        source: 'app',
        notice_version: NOTICE_VERSION,
        changes: [{ purpose: c.purpose, channel: c.channel, action: c.action }],
      });
      await new Promise<void>((resolve, reject) => {
        const req = request(
          {
            host: '127.0.0.1',
            port,
            method: 'POST',
            path: `/v1/recipients/B${c.person}/consents`,
            agent,
            headers: {
              authorization: `Bearer ${ctx.setup.key}`,
              'content-type': 'application/json',
              'idempotency-key': `bench-${ctx.runId}-${ctx.slot.index}-${i}`,
              'content-length': Buffer.byteLength(body),
            },
          },
          (res) => {
            res.resume();
            res.on('end', () =>
              res.statusCode === 201 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`)),
            );
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    });
    return { operations: ctx.size, latenciesMs };
  } finally {
    agent.destroy();
    await app.close();
    await closeDeps(deps);
  }
}

export const benchmark: Benchmark<Setup, null> = {
  name: 'consent-api',
  description: `consent writes over HTTP (POST /v1/.../consents, ${CONCURRENCY} concurrent) vs the same ledger writes as bare SQL`,
  defaultSize: 10_000,

  async setup(ctx) {
    const database = await createMigratedDatabase(ctx, 'consent');
    const db = createDb(
      createPool({
        url: database.appUrl,
        max: 2,
        applicationName: 'bench-seed',
        logger: createLogger({ level: 'silent', name: 'bench' }),
      }),
    );
    try {
      await seedNotice(db);
      await db
        .insertInto('recipients')
        .values(Array.from({ length: PEOPLE }, (_, i) => ({ client_number: `B${i + 1}` })))
        .execute();
      const key = await createApiKey(db, { name: 'bench', scopes: ['consents:write'], createdBy: 'bench' });
      return { appUrl: database.appUrl, key: key.key };
    } finally {
      await db.destroy();
    }
  },

  async teardown(ctx) {
    await deleteRunKeys(ctx);
    await dropRunDatabases(ctx);
  },

  variants: [
    {
      name: 'raw-sql',
      role: 'baseline',
      description: 'event insert + state upsert per change, pg pool of 20',
      run: rawSql,
    },
    {
      name: 'http-api',
      role: 'subject',
      description: 'the API on loopback: auth, validation, idempotency, ledger, audit',
      run: httpApi,
    },
  ],
};
