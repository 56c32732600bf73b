import { Readable } from 'node:stream';
import { keyedHash } from '../../../src/crypto/pseudonym.js';
import type { ImportFormat } from '../../../src/import/import-row.js';
import { type ImportOptions, type ImportSummary, importPeople } from '../../../src/import/importer.js';
import type { TestDatabase } from '../../support/test-db.js';

export const SECRET = 'test-pseudonym-secret-0123456789-abcdef';
export const OPERATOR = { type: 'operator' as const, id: 'tester' };

export function ndjson(rows: readonly (object | string)[]): string {
  return rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n');
}

export function importText(
  t: TestDatabase,
  text: string,
  options: Partial<ImportOptions> & { format?: ImportFormat } = {},
): Promise<ImportSummary> {
  return importPeople(
    { pool: t.pool, db: t.db, pseudonymSecret: SECRET },
    Readable.from([Buffer.from(text)]),
    {
      format: 'ndjson',
      actor: OPERATOR,
      source: 'test.ndjson',
      ...options,
    },
  );
}

/** Leaves an erased person behind, as erasure does: an empty row and a tombstone of the client number. */
export async function tombstone(t: TestDatabase, clientNumber: string): Promise<void> {
  const row = await t.db
    .insertInto('recipients')
    .values({ client_number: null, erased_at: new Date() })
    .returning('id')
    .executeTakeFirstOrThrow();
  await t.db
    .insertInto('erasure_tombstones')
    .values({ client_number_hash: keyedHash(SECRET, 'client_number', clientNumber), recipient_id: row.id })
    .execute();
}

/** Everything an import writes, per client number, in a comparable form. */
export async function snapshot(t: TestDatabase) {
  const people = await t.db
    .selectFrom('recipients')
    .select([
      'client_number',
      'first_name',
      'last_name',
      'email',
      'phone',
      'locale',
      'time_zone',
      'attributes',
    ])
    .where('client_number', 'is not', null)
    .orderBy('client_number')
    .execute();
  const devices = await t.db
    .selectFrom('devices as d')
    .innerJoin('recipients as r', 'r.id', 'd.recipient_id')
    .select(['r.client_number', 'd.token', 'd.platform'])
    .orderBy('d.token')
    .execute();
  const consents = await t.db
    .selectFrom('consents as c')
    .innerJoin('recipients as r', 'r.id', 'c.recipient_id')
    .select(['r.client_number', 'c.purpose', 'c.channel', 'c.status', 'c.source', 'c.occurred_at'])
    .orderBy('r.client_number')
    .orderBy('c.purpose')
    .orderBy('c.channel')
    .execute();
  const events = await t.db
    .selectFrom('consent_events as e')
    .innerJoin('recipients as r', 'r.id', 'e.recipient_id')
    .select([
      'r.client_number',
      'e.purpose',
      'e.channel',
      'e.action',
      'e.source',
      'e.occurred_at',
      'e.notice_version',
    ])
    .orderBy('r.client_number')
    .orderBy('e.purpose')
    .orderBy('e.channel')
    .orderBy('e.occurred_at')
    .orderBy('e.action')
    .execute();
  return { people, devices, consents, events };
}
