import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { migrateToLatest } from '../../src/db/migrator.js';
import { withDatabase } from '../../test/support/service-env.js';

export interface DemoDatabase {
  readonly name: string;
  /** As the application role: what every role and the driver use. */
  readonly appUrl: string;
  readonly ownerUrl: string;
}

/** The URLs the demo starts from: the configured app role, schema owner and (optional) admin. */
export interface ServerUrls {
  readonly appUrl: string;
  readonly ownerUrl: string;
  readonly adminUrl: string;
}

export function serverUrls(env: Readonly<Record<string, string | undefined>>): ServerUrls | string {
  const appUrl = env.DATABASE_URL;
  if (appUrl === undefined || appUrl === '') return 'DATABASE_URL is not set (scripts/demo.sh sets it)';
  const ownerUrl = env.DATABASE_OWNER_URL || appUrl;
  return { appUrl, ownerUrl, adminUrl: env.PG_ADMIN_URL || ownerUrl };
}

function roleOf(url: string): string {
  return decodeURIComponent(new URL(url).username);
}

/**
 * Drops the demo's database and creates it again, empty, owned by the schema owner, then migrates it.
 * A re-run therefore never meets the people, caps or messages of the previous one (their frequency
 * caps would otherwise skip everyone). Only the database named by the demo is ever dropped.
 */
export async function recreateDemoDatabase(urls: ServerUrls, name: string): Promise<DemoDatabase> {
  const admin = new pg.Client({ connectionString: urls.adminUrl, application_name: 'consentcast-demo' });
  await admin.connect();
  try {
    const id = (s: string) => admin.escapeIdentifier(s);
    await admin.query(`DROP DATABASE IF EXISTS ${id(name)} WITH (FORCE)`);
    await admin.query(
      `CREATE DATABASE ${id(name)} OWNER ${id(roleOf(urls.ownerUrl))} ENCODING 'UTF8' TEMPLATE template0`,
    );
    await admin.query(`GRANT CONNECT ON DATABASE ${id(name)} TO ${id(roleOf(urls.appUrl))}`);
  } finally {
    await admin.end();
  }
  const ownerUrl = withDatabase(urls.ownerUrl, name);
  const owner = new Kysely<unknown>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: ownerUrl, max: 1 }) }),
  });
  try {
    // What scripts/services.sh does for its database: only the owner creates in public.
    await sql`REVOKE CREATE ON SCHEMA public FROM PUBLIC`.execute(owner);
    await migrateToLatest(owner);
  } finally {
    await owner.destroy();
  }
  return { name, ownerUrl, appUrl: withDatabase(urls.appUrl, name) };
}
