import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { createDb, createPool } from '../../src/db/database.js';
import { createLogger } from '../../src/logging/logger.js';
import {
  cloneDatabase,
  createMigratedDatabase,
  databaseUrl,
  dropDatabase,
  dropRunDatabases,
  queryScalar,
} from '../lib/database.js';
import {
  RECIPIENT_COLUMNS,
  type SyntheticRecipient,
  syntheticRecipients,
} from '../lib/synthetic-recipients.js';
import type { Benchmark, VariantContext, VariantOutcome } from '../lib/types.js';

/**
 * Bulk import of people (an import from the CRM), batch by batch, the cost of going through Kysely
 * measured against bare `pg`. Every slot inserts into its own copy of a freshly migrated database,
 * so each variant starts from the same empty table and indexes (no dead tuples or grown B-trees
 * left by the variant before it).
 */

const BATCH = 1_000;

/** The migrated, empty database every slot is cloned from. */
type Setup = { template: string };
/** This slot's own copy of it. */
type Prepared = { database: string };
type Ctx = VariantContext<Setup, Prepared>;

function batchAt(ctx: Ctx, from: number): SyntheticRecipient[] {
  return from < ctx.size ? syntheticRecipients(from, Math.min(BATCH, ctx.size - from)) : [];
}

/**
 * Inserts batch after batch, timing each `insert`. The next batch is generated (names, JSON, two
 * HMACs per row: about 5 ms per 1,000 rows) while the current one is at the server, so that the
 * wall time is the insert path's and not the generator's, for both variants alike.
 */
async function insertAll(
  ctx: Ctx,
  insert: (rows: readonly SyntheticRecipient[]) => Promise<number>,
): Promise<VariantOutcome> {
  const latenciesMs: number[] = [];
  let inserted = 0;
  let rows = batchAt(ctx, 0);
  for (let from = 0; rows.length > 0; from += BATCH) {
    const started = performance.now();
    const pending = insert(rows);
    // Handled here so that a failure arriving while the next batch is generated is not reported as
    // unhandled; `await pending` below still throws it.
    pending.catch(() => {});
    // Let the query reach the socket first: Kysely hands it to pg only after a few promise and
    // nextTick hops (pool checkout), which all run before a setImmediate callback.
    await new Promise((resolve) => setImmediate(resolve));
    const next = batchAt(ctx, from + BATCH);
    inserted += await pending;
    latenciesMs.push(performance.now() - started);
    rows = next;
  }
  return { operations: inserted, latenciesMs };
}

/** `INSERT … VALUES ($1, …, $10), ($11, …)` for `rows` rows: built once per batch length, as by hand. */
const insertSqlCache = new Map<number, string>();
function insertSql(rows: number): string {
  const cached = insertSqlCache.get(rows);
  if (cached !== undefined) return cached;
  const width = RECIPIENT_COLUMNS.length;
  const tuples = Array.from(
    { length: rows },
    (_, r) => `(${Array.from({ length: width }, (_, c) => `$${r * width + c + 1}`).join(', ')})`,
  );
  const text = `INSERT INTO recipients (${RECIPIENT_COLUMNS.join(', ')}) VALUES ${tuples.join(', ')}`;
  insertSqlCache.set(rows, text);
  return text;
}

async function rawPg(ctx: Ctx): Promise<VariantOutcome> {
  const client = new pg.Client({
    connectionString: databaseUrl(ctx.services.appUrl, ctx.prepared.database),
    application_name: 'consentcast-bench-raw-pg',
  });
  await client.connect();
  try {
    return await insertAll(ctx, async (rows) => {
      const values: string[] = [];
      for (const row of rows) for (const column of RECIPIENT_COLUMNS) values.push(row[column]);
      const result = await client.query(insertSql(rows.length), values);
      return result.rowCount ?? 0;
    });
  } finally {
    await client.end();
  }
}

async function kysely(ctx: Ctx): Promise<VariantOutcome> {
  const pool = createPool({
    url: databaseUrl(ctx.services.appUrl, ctx.prepared.database),
    // One batch at a time, like the baseline's single client.
    max: 1,
    applicationName: 'consentcast-bench-kysely',
    logger: createLogger({ level: 'silent', name: 'bench' }),
  });
  const db = createDb(pool);
  try {
    // Open the connection before the first batch, as the baseline does, so that no batch's latency
    // includes a connect.
    (await pool.connect()).release();
    return await insertAll(ctx, async (rows) => {
      const result = await db.insertInto('recipients').values(rows).executeTakeFirstOrThrow();
      return Number(result.numInsertedOrUpdatedRows ?? 0n);
    });
  } finally {
    await db.destroy();
  }
}

export const benchmark: Benchmark<Setup, Prepared> = {
  name: 'recipients-insert',
  description: 'insert N synthetic recipients in batches of 1,000: Kysely (app pool) vs bare pg.Client',
  defaultSize: 50_000,

  async setup(ctx) {
    const template = await createMigratedDatabase(ctx, 'template');
    return { template: template.name };
  },

  async beforeEach(ctx) {
    const copy = await cloneDatabase(ctx, ctx.setup.template, `slot${ctx.slot.index}`);
    return { database: copy.name };
  },

  async afterEach(ctx) {
    try {
      const count = Number(
        await queryScalar(ctx.services, ctx.prepared.database, 'SELECT count(*) FROM recipients'),
      );
      if (count !== ctx.size) {
        throw new Error(`${ctx.slot.variant} left ${count} recipients, expected ${ctx.size}`);
      }
    } finally {
      await dropDatabase(ctx.services, ctx.prepared.database);
    }
  },

  async teardown(ctx) {
    await dropRunDatabases(ctx);
  },

  variants: [
    { name: 'raw-pg', role: 'baseline', description: 'pg.Client, hand-written multi-row INSERT', run: rawPg },
    {
      name: 'kysely',
      role: 'subject',
      description: 'createDb(createPool(...)).insertInto(...).values(batch)',
      run: kysely,
    },
  ],
};
