import { randomBytes } from 'node:crypto';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { inject } from 'vitest';
import { createDb, createPool, type Db } from '../../src/db/database.js';
import { createLogger } from '../../src/logging/logger.js';
import { withDatabase } from './service-env.js';

export interface TestDatabase {
  readonly name: string;
  /** As the application role (consentcast_app): what the product runs as. */
  readonly appUrl: string;
  /** As the schema owner. */
  readonly ownerUrl: string;
  readonly db: Db;
  readonly pool: pg.Pool;
  drop(): Promise<void>;
}

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: inject('services').pgAdminUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A database of this test file's own, cloned from the migrated template (or empty, for migration tests). */
export async function createTestDatabase(options: { empty?: boolean } = {}): Promise<TestDatabase> {
  const services = inject('services');
  const name = `cc_test_f_${services.runPid}_${randomBytes(5).toString('hex')}`;
  await admin(async (client) => {
    const template = options.empty ? 'template0' : services.template;
    await client.query(`CREATE DATABASE "${name}" TEMPLATE "${template}" OWNER consentcast_owner`);
    if (options.empty) {
      // What scripts/services.sh does for a new database: only the owner may create in public.
      const own = new pg.Client({ connectionString: withDatabase(services.pgAdminUrl, name) });
      await own.connect();
      await own.query(
        'REVOKE CREATE ON SCHEMA public FROM PUBLIC; ALTER SCHEMA public OWNER TO consentcast_owner',
      );
      await own.end();
    }
    await client.query(`GRANT CONNECT ON DATABASE "${name}" TO consentcast_app`);
  });
  const appUrl = withDatabase(services.appUrl, name);
  const pool = createPool({
    url: appUrl,
    max: 10,
    applicationName: 'consentcast-test',
    logger: createLogger({ level: 'silent', name: 'test' }),
  });
  const db = createDb(pool);
  return {
    name,
    appUrl,
    ownerUrl: withDatabase(services.ownerUrl, name),
    db,
    pool,
    async drop() {
      await db.destroy();
      await admin((client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}

/** A Kysely connection as the schema owner, for migration tests. */
export function ownerKysely(url: string): Kysely<unknown> {
  return new Kysely<unknown>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 2 }) }),
  });
}
