import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { MIGRATIONS_DIR, migrateToLatest } from '../../src/db/migrator.js';
import { serviceUrls, withDatabase } from './service-env.js';

declare module 'vitest' {
  export interface ProvidedContext {
    services: {
      pgAdminUrl: string;
      ownerUrl: string;
      appUrl: string;
      redisUrl: string;
      template: string;
      /** The vitest process: file databases carry it in their name, so only orphans are dropped. */
      runPid: number;
    };
  }
}

const HOW_TO_START = 'start them with `bash scripts/services.sh up` (npm test does it for you)';

async function reachable(what: string, check: () => Promise<unknown>): Promise<void> {
  try {
    await check();
  } catch (err) {
    throw new Error(
      `${what} is not reachable (${err instanceof Error ? err.message : String(err)}): ${HOW_TO_START}`,
    );
  }
}

/** The template's name changes whenever a migration changes, so a stale template is never reused. */
function templateName(): string {
  const hash = createHash('sha256');
  for (const file of readdirSync(MIGRATIONS_DIR).sort())
    hash.update(file).update(readFileSync(`${MIGRATIONS_DIR}/${file}`));
  return `cc_test_tpl_${hash.digest('hex').slice(0, 12)}`;
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const urls = serviceUrls();
  const admin = new pg.Client({ connectionString: urls.pgAdminUrl, connectionTimeoutMillis: 3_000 });
  await reachable(`PostgreSQL at ${new URL(urls.pgAdminUrl).host}`, () => admin.connect());
  const redis = new Redis(urls.redisUrl, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: 3_000,
  });
  await reachable(`Redis at ${new URL(urls.redisUrl).host}`, async () => {
    await redis.connect();
    await redis.ping();
  });
  redis.disconnect();

  const template = templateName();
  // This run clones from its template until it ends: it says so with a shared advisory lock held by
  // a connection of its own, so that another run (a developer's or a helper's, with other
  // migrations) never drops the template from under it.
  const holder = new pg.Client({ connectionString: urls.pgAdminUrl, connectionTimeoutMillis: 3_000 });
  await holder.connect();
  await holder.query('SELECT pg_advisory_lock_shared(hashtext($1))', [`in-use:${template}`]);
  const { rows } = await admin.query<{ datname: string }>(
    "SELECT datname FROM pg_database WHERE datname LIKE 'cc\\_test\\_%'",
  );
  // Leftovers of runs that died (a killed run leaves its file databases behind). Databases of a run
  // that is still going — another developer's, or a helper's — carry a live pid and are left alone.
  for (const { datname } of rows) {
    const owner = /^cc_test_f_(\d+)_/.exec(datname)?.[1];
    if (owner !== undefined && !isAlive(Number(owner))) {
      await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    }
  }
  for (const { datname } of rows) {
    // Templates of older migrations: dropped unless a run still clones from them. A template another
    // run is still building (`_wip`) is left to it: between its migration and its rename nobody is
    // connected to it, and dropping it then broke that run.
    if (datname.startsWith('cc_test_tpl_') && datname !== template && !datname.endsWith('_wip')) {
      const free = await admin.query<{ free: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS free', [
        `in-use:${datname}`,
      ]);
      if (free.rows[0]?.free !== true) continue;
      await admin.query(`DROP DATABASE IF EXISTS "${datname}"`).catch(() => undefined);
      await admin.query('SELECT pg_advisory_unlock(hashtext($1))', [`in-use:${datname}`]);
    }
  }
  if (!rows.some((r) => r.datname === template)) {
    // Two runs may race to build the same template: one wins the name, the other waits for it.
    await admin.query('SELECT pg_advisory_lock(hashtext($1))', [template]);
    const again = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [template]);
    if (again.rowCount === 0) await buildTemplate(admin, urls.ownerUrl, template);
    await admin.query('SELECT pg_advisory_unlock(hashtext($1))', [template]);
  }
  await admin.end();
  project.provide('services', { ...urls, template, runPid: process.pid });
  return async () => {
    await holder.end();
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function buildTemplate(admin: pg.Client, ownerUrl: string, template: string): Promise<void> {
  await admin.query(`DROP DATABASE IF EXISTS "${template}_wip" WITH (FORCE)`);
  await admin.query(`CREATE DATABASE "${template}_wip" OWNER consentcast_owner`);
  const db = new Kysely<unknown>({
    dialect: new PostgresDialect({
      pool: new pg.Pool({ connectionString: withDatabase(ownerUrl, `${template}_wip`), max: 1 }),
    }),
  });
  try {
    await migrateToLatest(db);
  } finally {
    await db.destroy();
  }
  // Renamed only when complete: an interrupted migration never leaves a half-made template.
  await admin.query(`ALTER DATABASE "${template}_wip" RENAME TO "${template}"`);
}
