import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyedHash } from '../../../src/crypto/pseudonym.js';
import { createTestApp, type TestApp } from '../../support/test-app.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';
import { distinctivePii, fileAndExecute, needles, type Pii, type Seeded, seedRichPerson } from './seed.js';

interface Hit {
  readonly where: string;
  readonly needle: string;
}

/** Every column of every table in the database, cast to text, searched for every needle. */
async function searchDatabase(ownerUrl: string, search: readonly string[]): Promise<Hit[]> {
  const client = new pg.Client({ connectionString: ownerUrl });
  await client.connect();
  try {
    const { rows: columns } = await client.query<{
      table_schema: string;
      table_name: string;
      column_name: string;
    }>(
      `SELECT c.table_schema, c.table_name, c.column_name
         FROM information_schema.columns c
         JOIN information_schema.tables t USING (table_schema, table_name)
        WHERE t.table_type = 'BASE TABLE' AND c.table_schema NOT IN ('pg_catalog', 'information_schema')
        ORDER BY 1, 2, 3`,
    );
    expect(columns.length).toBeGreaterThan(100);
    const hits: Hit[] = [];
    for (const c of columns) {
      const ident = (s: string) => client.escapeIdentifier(s);
      const { rows } = await client.query<{ needle: string }>(
        `SELECT DISTINCT n.needle
           FROM ${ident(c.table_schema)}.${ident(c.table_name)} AS x
           JOIN unnest($1::text[]) AS n(needle) ON strpos(lower(x.${ident(c.column_name)}::text), lower(n.needle)) > 0`,
        [search],
      );
      for (const r of rows) hits.push({ where: `${c.table_name}.${c.column_name}`, needle: r.needle });
    }
    return hits;
  } finally {
    await client.end();
  }
}

/** Every key under the app's prefix with its whole value, as text. */
async function dumpRedis(api: TestApp): Promise<string[]> {
  const redis = api.deps.redis;
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${api.config.redis.queuePrefix}*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const type = await redis.type(key);
      const value =
        type === 'string'
          ? [await redis.get(key)]
          : type === 'hash'
            ? Object.entries(await redis.hgetall(key)).flat()
            : type === 'list'
              ? await redis.lrange(key, 0, -1)
              : type === 'set'
                ? await redis.smembers(key)
                : type === 'zset'
                  ? await redis.zrange(key, 0, -1, 'WITHSCORES')
                  : type === 'stream'
                    ? JSON.stringify(await redis.xrange(key, '-', '+'))
                    : [`<${type}>`];
      out.push(`${key} ${JSON.stringify(value)}`);
    }
  } while (cursor !== '0');
  return out;
}

function found(haystack: string, search: readonly string[]): string[] {
  const lower = haystack.toLowerCase();
  return search.filter((n) => lower.includes(n.toLowerCase()));
}

describe('erasure leaves nothing of the person but identifier-free evidence (N11, N14)', () => {
  let t: TestDatabase;
  let api: TestApp;
  let key: string;
  let person: Pii;
  let seeded: Seeded;
  let eventsBefore: number;
  let erasure: { id: number; status: number; body: Record<string, unknown> };

  beforeAll(async () => {
    t = await createTestDatabase();
    api = await createTestApp(t);
    key = await api.key(['recipients:write', 'recipients:read', 'consents:write', 'consents:read', 'dsr']);
    person = distinctivePii('erase');
    seeded = await seedRichPerson(api, key, person);
    // Someone else, who must keep everything.
    await seedRichPerson(api, key, distinctivePii('bystander'));
    eventsBefore = (
      await t.db
        .selectFrom('consent_events')
        .select('id')
        .where('recipient_id', '=', seeded.recipientId)
        .execute()
    ).length;

    // The seeding really put the data everywhere the search will look.
    const seededHits = await searchDatabase(t.ownerUrl, needles(person));
    for (const table of ['recipients', 'devices', 'message_events', 'idempotency_keys']) {
      expect(seededHits.map((h) => h.where.split('.')[0])).toContain(table);
    }
    expect(found((await dumpRedis(api)).join('\n'), [`message-${seeded.messageIds[1]}`])).toHaveLength(1);

    const { id, reply } = await fileAndExecute(api, key, person.clientNumber, 'erase', {
      reason: 'request by letter',
    });
    erasure = { id, status: reply.statusCode, body: reply.json() };
  });
  afterAll(async () => {
    await api.close();
    await t.drop();
  });

  it('completes the request and reports what it removed, in counts', () => {
    expect(erasure.status).toBe(200);
    expect(erasure.body).toMatchObject({
      request: { id: erasure.id, status: 'completed', client_number: null },
      result: {
        kind: 'erase',
        erased: {
          withdrawn: 4,
          devices: 1,
          messages: 2,
          message_events: 3,
          run_exclusions: 1,
          list_memberships: 1,
          idempotency_keys: 1,
        },
      },
    });
  });

  it('leaves no name, contact, token, personal code, birth date or attribute in any column of any table', async () => {
    expect(await searchDatabase(t.ownerUrl, needles(person))).toEqual([]);
  });

  it('leaves none of them in any Redis key or value under the app prefix, where the job carries only ids', async () => {
    const dump = await dumpRedis(api);
    expect(dump.length).toBeGreaterThan(0);
    expect(found(dump.join('\n'), needles(person))).toEqual([]);
  });

  it('never wrote any of them to the logs', () => {
    expect(api.logs.length).toBeGreaterThan(0);
    expect(found(api.logs.join('\n'), needles(person))).toEqual([]);
  });

  it('keeps the consent evidence, with a withdrawal for each live grant, and the empty surrogate row', async () => {
    const events = await t.db
      .selectFrom('consent_events')
      .select(['action', 'reason', 'source'])
      .where('recipient_id', '=', seeded.recipientId)
      .orderBy('id')
      .execute();
    expect(events).toHaveLength(eventsBefore + 4);
    expect(events.slice(eventsBefore)).toEqual(
      Array(4).fill({ action: 'withdraw', reason: 'erasure', source: 'operator' }),
    );
    const consents = await t.db
      .selectFrom('consents')
      .select('status')
      .where('recipient_id', '=', seeded.recipientId)
      .execute();
    expect(consents.map((c) => c.status)).toEqual(Array(4).fill('withdrawn'));
    const row = await t.db
      .selectFrom('recipients')
      .selectAll()
      .where('id', '=', seeded.recipientId)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      client_number: null,
      first_name: null,
      last_name: null,
      email: null,
      phone: null,
      birth_date: null,
      personal_code: null,
      attributes: {},
      locale: 'lv',
      time_zone: 'Europe/Riga',
    });
    expect(row.erased_at).toBeInstanceOf(Date);
  });

  it('leaves a tombstone keyed by a hash of the client number, pointing at the request', async () => {
    const tombstone = await t.db
      .selectFrom('erasure_tombstones')
      .selectAll()
      .where('recipient_id', '=', seeded.recipientId)
      .executeTakeFirstOrThrow();
    expect(tombstone.client_number_hash).toBe(
      keyedHash(api.config.pseudonymSecret, 'client_number', person.clientNumber),
    );
    expect(tombstone.dsr_request_id).toBe(erasure.id);
  });

  it('audits the erasure with the actor, the reason and counts, in the append-only log', async () => {
    const entry = await t.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'dsr.erase')
      .executeTakeFirstOrThrow();
    expect(entry).toMatchObject({
      actor_type: 'api_key',
      recipient_id: seeded.recipientId,
      reason: 'request by letter',
      details: expect.objectContaining({ dsr_request_id: erasure.id, devices: 1 }),
    });
  });

  it('refuses to re-create the person from the same client number with 409 recipient_erased', async () => {
    const reply = await api.app.inject({
      method: 'PUT',
      url: `/v1/recipients/${person.clientNumber}`,
      headers: { authorization: `Bearer ${key}` },
      payload: { first_name: person.firstName },
    });
    expect(reply.statusCode).toBe(409);
    expect(reply.json()).toMatchObject({ error: 'recipient_erased' });
    const again = await api.app.inject({
      method: 'POST',
      url: '/v1/dsr/requests',
      headers: { authorization: `Bearer ${key}` },
      payload: { client_number: person.clientNumber, kind: 'access', received_via: 'email' },
    });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ error: 'recipient_erased' });
  });

  it('answers 404 for the erased person on the recipient API', async () => {
    const reply = await api.app.inject({
      method: 'GET',
      url: `/v1/recipients/${person.clientNumber}`,
      headers: { authorization: `Bearer ${key}` },
    });
    expect(reply.statusCode).toBe(404);
  });

  it('leaves the other person untouched', async () => {
    const others = await t.db
      .selectFrom('recipients')
      .select(['id', 'email'])
      .where('id', '<>', seeded.recipientId)
      .execute();
    expect(others).toHaveLength(1);
    expect(others[0]?.email).toMatch(/bystander/);
    const devices = await t.db.selectFrom('devices').select('recipient_id').execute();
    expect(devices.map((d) => d.recipient_id)).toEqual([others[0]?.id]);
  });
});
