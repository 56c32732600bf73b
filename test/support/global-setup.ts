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
    services: { pgAdminUrl: string; ownerUrl: string; appUrl: string; redisUrl: string; template: string };
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
  const { rows } = await admin.query<{ datname: string }>(
    "SELECT datname FROM pg_database WHERE datname LIKE 'cc\\_test\\_%'",
  );
  // Leftovers of earlier runs (a crashed run leaves its file databases behind).
  for (const { datname } of rows) {
    if (datname !== template) await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
  }
  if (!rows.some((r) => r.datname === template)) {
    await admin.query(`CREATE DATABASE "${template}_wip" OWNER consentcast_owner`);
    const db = new Kysely<unknown>({
      dialect: new PostgresDialect({
        pool: new pg.Pool({ connectionString: withDatabase(urls.ownerUrl, `${template}_wip`), max: 1 }),
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
  await admin.end();
  project.provide('services', { ...urls, template });
  return async () => {};
}
