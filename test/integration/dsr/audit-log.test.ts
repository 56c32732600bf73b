import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../support/test-app.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';
import { fileAndExecute } from './seed.js';

interface Entry {
  id: number;
  action: string;
  actor_id: string;
  recipient_id: number | null;
  occurred_at: string;
  details: Record<string, unknown>;
}

describe('the audit log for the data-protection officer (N14, N16)', () => {
  let t: TestDatabase;
  let api: TestApp;
  let operator: string;
  let dpo: string;
  let annaId: number;

  beforeAll(async () => {
    t = await createTestDatabase();
    api = await createTestApp(t);
    operator = await api.key(['recipients:write', 'dsr']);
    dpo = await api.key(['audit:read']);
    for (const cn of ['AUD-ANNA', 'AUD-BERT']) {
      await api.app.inject({
        method: 'PUT',
        url: `/v1/recipients/${cn}`,
        headers: { authorization: `Bearer ${operator}` },
        payload: { first_name: 'Someone' },
      });
    }
    await fileAndExecute(api, operator, 'AUD-ANNA', 'restrict');
    await fileAndExecute(api, operator, 'AUD-BERT', 'object_profiling');
    await fileAndExecute(api, operator, 'AUD-ANNA', 'erase');
    annaId = (await t.db.selectFrom('erasure_tombstones').select('recipient_id').executeTakeFirstOrThrow())
      .recipient_id;
  });
  afterAll(async () => {
    await api.close();
    await t.drop();
  });

  const get = (url: string, key: string | null = dpo) =>
    api.app.inject({ method: 'GET', url, headers: key === null ? {} : { authorization: `Bearer ${key}` } });

  it('finds everything done to a person by client number, even after their erasure', async () => {
    const reply = await get('/v1/audit?client_number=AUD-ANNA');
    expect(reply.statusCode).toBe(200);
    const { entries } = reply.json() as { entries: Entry[] };
    expect(entries.map((e) => e.action)).toEqual([
      'recipient.create',
      'dsr.request.create',
      'dsr.request.identity_check',
      'dsr.restrict',
      'dsr.request.create',
      'dsr.request.identity_check',
      'dsr.erase',
    ]);
    expect(entries.every((e) => e.recipient_id === annaId)).toBe(true);
  });

  it('filters by action prefix, actor and time, and pages by keyset', async () => {
    const dsr = (await get('/v1/audit?action=dsr.request.&limit=1000')).json() as { entries: Entry[] };
    expect(dsr.entries).toHaveLength(6);
    expect(dsr.entries.every((e) => e.action.startsWith('dsr.request.'))).toBe(true);

    const actor = dsr.entries[0]?.actor_id ?? '';
    const byActor = (await get(`/v1/audit?actor=${encodeURIComponent(actor)}`)).json() as {
      entries: Entry[];
    };
    expect(byActor.entries.length).toBeGreaterThan(6);
    expect((await get('/v1/audit?actor=nobody')).json()).toEqual({ entries: [], next_after: null });
    expect((await get('/v1/audit?from=2999-01-01T00:00:00Z')).json()).toEqual({
      entries: [],
      next_after: null,
    });
    expect(((await get('/v1/audit?to=2000-01-01T00:00:00Z')).json() as { entries: Entry[] }).entries).toEqual(
      [],
    );

    const all: Entry[] = [];
    let after: number | null = null;
    do {
      const page = (await get(`/v1/audit?limit=4${after === null ? '' : `&after=${after}`}`)).json() as {
        entries: Entry[];
        next_after: number | null;
      };
      expect(page.entries.length).toBeLessThanOrEqual(4);
      all.push(...page.entries);
      after = page.next_after;
    } while (after !== null);
    const everything = (await get('/v1/audit?limit=1000')).json() as { entries: Entry[] };
    expect(all.map((e) => e.id)).toEqual(everything.entries.map((e) => e.id));
  });

  it('exports the matching entries as NDJSON, one per line, and records the export itself', async () => {
    const reply = await get('/v1/audit/export?action=dsr.');
    expect(reply.statusCode).toBe(200);
    expect(reply.headers['content-type']).toMatch(/^application\/x-ndjson/);
    const lines = reply.body.trimEnd().split('\n');
    const entries = lines.map((l) => JSON.parse(l) as Entry);
    expect(entries.length).toBeGreaterThanOrEqual(9);
    expect(entries.every((e) => e.action.startsWith('dsr.'))).toBe(true);
    expect(entries.map((e) => e.id)).toEqual([...entries.map((e) => e.id)].sort((a, b) => a - b));
    const recorded = (await get('/v1/audit?action=audit.export')).json() as { entries: Entry[] };
    expect(recorded.entries).toHaveLength(1);
    expect(recorded.entries[0]?.details).toMatchObject({ filters: ['action'], action: 'dsr.' });
  });

  it('validates the search: every bad parameter is named, the limit is at most 1000', async () => {
    const reply = await get('/v1/audit?limit=1001&after=x&from=yesterday&action=DROP%20TABLE&colour=red');
    expect(reply.statusCode).toBe(400);
    const fields = (reply.json() as { fields: { field: string }[] }).fields.map((f) => f.field);
    expect(fields).toEqual(
      expect.arrayContaining(['query/limit', 'query/after', 'query/from', 'query/action', 'query/colour']),
    );
  });

  it('answers 404 for an unknown client number, 401 without a key and 403 without audit:read', async () => {
    expect((await get('/v1/audit?client_number=NOBODY')).statusCode).toBe(404);
    expect((await get('/v1/audit/export?client_number=NOBODY')).statusCode).toBe(404);
    for (const url of ['/v1/audit', '/v1/audit/export']) {
      expect((await get(url, null)).statusCode, url).toBe(401);
      const forbidden = await get(url, operator);
      expect(forbidden.statusCode, url).toBe(403);
      expect(forbidden.json()).toMatchObject({ message: expect.stringContaining('audit:read') });
    }
  });
});
