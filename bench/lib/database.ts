import pg from 'pg';
import { createDb, createPool, untyped } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrator.js';
import { createLogger } from '../../src/logging/logger.js';
import type { BenchContext, Services } from './types.js';

/**
 * Every database a run creates is named `cc_bench_<runId>` or `cc_bench_<runId>_<label>`, owned by
 * the schema owner, so that `dropRunDatabases` finds all of them even after a crash half-way.
 */
const PREFIX = 'cc_bench_';
const NAME = /^cc_bench_[a-z0-9_]{1,50}$/;

export interface BenchDatabase {
  readonly name: string;
  readonly ownerUrl: string;
  readonly appUrl: string;
}

export function benchDatabaseName(runId: string, label?: string): string {
  const name = label === undefined ? `${PREFIX}${runId}` : `${PREFIX}${runId}_${label}`;
  if (!NAME.test(name)) throw new Error(`unsafe benchmark database name ${JSON.stringify(name)}`);
  return name;
}

/** The same server and role as `url`, another database. */
export function databaseUrl(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export function benchDatabase(services: Services, name: string): BenchDatabase {
  return { name, ownerUrl: databaseUrl(services.ownerUrl, name), appUrl: databaseUrl(services.appUrl, name) };
}

function roleOf(url: string): string {
  return decodeURIComponent(new URL(url).username);
}

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: 'consentcast-bench' });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * `file_copy` copies the template's files (one checkpoint) instead of PostgreSQL 15's default of
 * writing every block through the WAL: much faster for a large, seeded template.
 */
async function createDatabase(
  services: Services,
  name: string,
  template: string,
  strategy: 'wal_log' | 'file_copy' = 'wal_log',
): Promise<void> {
  await withClient(services.adminUrl, async (admin) => {
    const id = (s: string) => admin.escapeIdentifier(s);
    await admin.query(
      `CREATE DATABASE ${id(name)} OWNER ${id(roleOf(services.ownerUrl))} ENCODING 'UTF8' TEMPLATE ${id(template)} STRATEGY ${strategy}`,
    );
    await admin.query(`GRANT CONNECT ON DATABASE ${id(name)} TO ${id(roleOf(services.appUrl))}`);
  });
}

/**
 * A new empty database migrated to the latest schema by the owner role, as `npm run consentcast --
 * migrate` would. For a fresh state per slot, migrate once and `cloneDatabase` from it.
 */
export async function createMigratedDatabase(ctx: BenchContext, label?: string): Promise<BenchDatabase> {
  const db = benchDatabase(ctx.services, benchDatabaseName(ctx.runId, label));
  await createDatabase(ctx.services, db.name, 'template0');
  const logger = createLogger({ level: 'silent', name: 'bench' });
  const kysely = createDb(
    createPool({ url: db.ownerUrl, max: 1, applicationName: 'consentcast-bench', logger }),
  );
  try {
    await migrateToLatest(untyped(kysely));
  } finally {
    await kysely.destroy();
  }
  return db;
}

/**
 * A copy of `template` (CREATE DATABASE … TEMPLATE: about 0.15 s for the empty schema here, against
 * about 0.5 s to create and migrate anew). The template must have no open connections.
 */
export async function cloneDatabase(
  ctx: BenchContext,
  template: string,
  label: string,
  strategy: 'wal_log' | 'file_copy' = 'wal_log',
): Promise<BenchDatabase> {
  const db = benchDatabase(ctx.services, benchDatabaseName(ctx.runId, label));
  await createDatabase(ctx.services, db.name, template, strategy);
  return db;
}

const KEPT = 'cc_bench_keep_';
const COMPLETE = 'consentcast-bench: complete';

/**
 * A database prepared once and kept between runs, for fixtures too slow to rebuild every run (a
 * million seeded people): `cc_bench_keep_<family>_<version>`. `prepare` fills it the first time; it
 * is marked complete (a database comment) only after `prepare` returned, so a run killed half-way
 * leaves nothing that a later run would reuse. Kept databases of the same family with another version
 * (an older schema or seed) are dropped. Clone it per run (`cloneDatabase(…, 'file_copy')`); never
 * connect to it while others may be cloning it.
 */
export async function keptDatabase(
  ctx: BenchContext,
  family: string,
  version: string,
  prepare: (db: BenchDatabase) => Promise<void>,
): Promise<{ name: string; reused: boolean }> {
  const name = `${KEPT}${family}_${version}`;
  if (!NAME.test(name) || !/^[a-z0-9]+$/.test(family))
    throw new Error(`unsafe kept database ${JSON.stringify(name)}`);
  const { rows } = await withClient(ctx.services.adminUrl, (admin) =>
    admin.query<{ datname: string; comment: string | null }>(
      "SELECT datname, shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE starts_with(datname, $1)",
      [`${KEPT}${family}_`],
    ),
  );
  for (const row of rows) {
    if (row.datname === name && row.comment === COMPLETE) continue;
    await dropDatabase(ctx.services, row.datname);
  }
  if (rows.some((r) => r.datname === name && r.comment === COMPLETE)) return { name, reused: true };
  const db = benchDatabase(ctx.services, name);
  await createDatabase(ctx.services, name, 'template0');
  const logger = createLogger({ level: 'silent', name: 'bench' });
  const kysely = createDb(
    createPool({ url: db.ownerUrl, max: 1, applicationName: 'consentcast-bench', logger }),
  );
  try {
    await migrateToLatest(untyped(kysely));
  } finally {
    await kysely.destroy();
  }
  await prepare(db);
  await withClient(db.ownerUrl, (owner) =>
    owner.query(`COMMENT ON DATABASE ${owner.escapeIdentifier(name)} IS '${COMPLETE}'`),
  );
  return { name, reused: false };
}

export async function dropDatabase(services: Services, name: string): Promise<void> {
  if (!NAME.test(name)) throw new Error(`refusing to drop ${JSON.stringify(name)}: not a benchmark database`);
  await withClient(services.adminUrl, async (admin) => {
    await admin.query(`DROP DATABASE IF EXISTS ${admin.escapeIdentifier(name)} WITH (FORCE)`);
  });
}

/** Drops every database of this run (named from its runId); returns their names. */
export async function dropRunDatabases(ctx: BenchContext): Promise<string[]> {
  const base = benchDatabaseName(ctx.runId);
  const { rows } = await withClient(ctx.services.adminUrl, (admin) =>
    admin.query<{ datname: string }>(
      "SELECT datname FROM pg_database WHERE datname = $1 OR starts_with(datname, $1 || '_') ORDER BY datname",
      [base],
    ),
  );
  for (const { datname } of rows) await dropDatabase(ctx.services, datname);
  return rows.map((r) => r.datname);
}

/** Runs `sql` as the schema owner in `database` and returns the first column of the first row. */
export async function queryScalar(services: Services, database: string, sql: string): Promise<unknown> {
  return withClient(databaseUrl(services.ownerUrl, database), async (client) => {
    const { rows } = await client.query<Record<string, unknown>>(sql);
    const first = rows[0];
    return first === undefined ? undefined : Object.values(first)[0];
  });
}
