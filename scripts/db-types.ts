// `npm run db:types`: migrates a scratch database and regenerates src/db/schema.ts from it.

import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { migrateToLatest } from '../src/db/migrator.js';
import { generateSchemaTypes } from '../src/db/schema-types.js';
import { serviceUrls, withDatabase } from '../test/support/service-env.js';

const urls = serviceUrls();
const name = `cc_types_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: urls.pgAdminUrl });
await admin.connect();
await admin.query(`CREATE DATABASE "${name}" OWNER consentcast_owner`);
const db = new Kysely<unknown>({
  dialect: new PostgresDialect({
    pool: new pg.Pool({ connectionString: withDatabase(urls.ownerUrl, name), max: 1 }),
  }),
});
try {
  await migrateToLatest(db);
  const target = new URL('../src/db/schema.ts', import.meta.url);
  writeFileSync(target, await generateSchemaTypes(db));
  console.log(`db:types: wrote ${target.pathname}`);
} finally {
  await db.destroy();
  await admin.query(`DROP DATABASE "${name}" WITH (FORCE)`);
  await admin.end();
}
