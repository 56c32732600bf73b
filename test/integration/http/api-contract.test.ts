import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOTICE_VERSION, seedNotice } from '../../support/fixtures.js';
import { createTestApp, type TestApp } from '../../support/test-app.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';

describe('the /v1 API contract', () => {
  let t: TestDatabase;
  let api: TestApp;
  let all: string;

  beforeAll(async () => {
    t = await createTestDatabase();
    api = await createTestApp(t);
    await seedNotice(api.deps.db);
    all = await api.key();
  });
  afterAll(async () => {
    await api.close();
    await t.drop();
  });

  const count = async (table: 'recipients' | 'consent_events' | 'consents' | 'audit_log') =>
    Number(
      (
        await api.deps.db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );

  it('names every invalid field of a person in one 400, and writes nothing', async () => {
    const before = await count('recipients');
    const reply = await api.app.inject({
      method: 'PUT',
      url: '/v1/recipients/C-100',
      headers: { authorization: `Bearer ${all}` },
      payload: {
        email: 'not-an-address',
        phone: '12345',
        locale: 'de',
        time_zone: 'Mars/Olympus',
        birth_date: '2999-01-01',
        personal_code: 'abc',
        attributes: { 'Bad Key': 1, interests: [{ nested: true }] },
      },
    });
    expect(reply.statusCode).toBe(400);
    const fields = (reply.json() as { fields: { field: string }[] }).fields.map((f) => f.field);
    expect(fields.sort()).toEqual(
      [
        'body/email',
        'body/phone',
        'body/locale',
        'body/time_zone',
        'body/birth_date',
        'body/personal_code',
        'body/attributes/Bad Key',
        'body/attributes/interests',
      ].sort(),
    );
    expect(await count('recipients')).toBe(before);
  });

  it('refuses dates PostgreSQL cannot hold (year 0000) and implausible birth dates with a 400, not a 500', async () => {
    const before = await count('recipients');
    for (const birthDate of ['0000-01-01', '1899-12-31']) {
      const reply = await api.app.inject({
        method: 'PUT',
        url: '/v1/recipients/C-103',
        headers: { authorization: `Bearer ${all}` },
        payload: { birth_date: birthDate },
      });
      expect(reply.statusCode, birthDate).toBe(400);
      expect(reply.json()).toMatchObject({ fields: [{ field: 'body/birth_date' }] });
    }
    expect(await count('recipients')).toBe(before);
    await api.app.inject({
      method: 'PUT',
      url: '/v1/recipients/C-103',
      headers: { authorization: `Bearer ${all}` },
      payload: { birth_date: '1900-01-01', time_zone: 'europe/riga' },
    });
    // The zone is stored in the spelling of the time_zones table (its foreign key, migration 0008).
    const person = await api.deps.db
      .selectFrom('recipients')
      .select(['birth_date', 'time_zone'])
      .where('client_number', '=', 'C-103')
      .executeTakeFirstOrThrow();
    expect(person).toEqual({ birth_date: '1900-01-01', time_zone: 'Europe/Riga' });
    const events = await count('consent_events');
    const reply = await api.app.inject({
      method: 'POST',
      url: '/v1/recipients/C-103/consents',
      headers: { authorization: `Bearer ${all}`, 'idempotency-key': 'year-zero-1' },
      payload: {
        source: 'app',
        changes: [
          { purpose: 'contests', channel: 'push', action: 'withdraw', occurred_at: '0000-06-01T00:00:00Z' },
        ],
      },
    });
    expect(reply.statusCode).toBe(400);
    expect(reply.json()).toMatchObject({ fields: [{ field: 'body/changes/0/occurred_at' }] });
    expect(await count('consent_events')).toBe(events);
  });

  it('names schema violations of a consent request: unknown fields, bad enums, missing header', async () => {
    await api.app.inject({
      method: 'PUT',
      url: '/v1/recipients/C-101',
      headers: { authorization: `Bearer ${all}` },
      payload: {},
    });
    const events = await count('consent_events');
    const reply = await api.app.inject({
      method: 'POST',
      url: '/v1/recipients/C-101/consents',
      headers: { authorization: `Bearer ${all}` },
      payload: {
        source: 'sms_keyword',
        changes: [{ purpose: 'spam', channel: 'fax', action: 'grant', colour: 'red' }],
      },
    });
    expect(reply.statusCode).toBe(400);
    const fields = (reply.json() as { fields: { field: string }[] }).fields.map((f) => f.field);
    // every part at once: the missing header and the bad body in one answer
    expect(fields).toEqual(
      expect.arrayContaining([
        'headers/idempotency-key',
        'body/source',
        'body/changes/0/purpose',
        'body/changes/0/channel',
        'body/changes/0/colour',
      ]),
    );
    expect(await count('consent_events')).toBe(events);

    const body = await api.app.inject({
      method: 'POST',
      url: '/v1/recipients/C-101/consents',
      headers: { authorization: `Bearer ${all}`, 'idempotency-key': 'contract-test-1' },
      payload: {
        source: 'sms_keyword',
        changes: [{ purpose: 'spam', channel: 'fax', action: 'grant', colour: 'red' }],
      },
    });
    expect(body.statusCode).toBe(400);
    const bodyFields = (body.json() as { fields: { field: string }[] }).fields.map((f) => f.field);
    expect(bodyFields).toEqual(
      expect.arrayContaining([
        'body/source',
        'body/changes/0/purpose',
        'body/changes/0/channel',
        'body/changes/0/colour',
      ]),
    );
    expect(await count('consent_events')).toBe(events);
  });

  it('refuses a grant without a notice or with an unknown one, naming notice_version, and writes nothing', async () => {
    await api.app.inject({
      method: 'PUT',
      url: '/v1/recipients/C-102',
      headers: { authorization: `Bearer ${all}` },
      payload: {},
    });
    const before = { events: await count('consent_events'), consents: await count('consents') };
    for (const notice of [undefined, 'no-such-notice']) {
      const reply = await api.app.inject({
        method: 'POST',
        url: '/v1/recipients/C-102/consents',
        headers: { authorization: `Bearer ${all}`, 'idempotency-key': `notice-test-${notice ?? 'none'}` },
        payload: {
          source: 'app',
          ...(notice ? { notice_version: notice } : {}),
          changes: [{ purpose: 'contests', channel: 'push', action: 'grant' }],
        },
      });
      expect(reply.statusCode).toBe(400);
      expect(reply.json()).toMatchObject({ fields: [{ field: 'notice_version' }] });
    }
    expect({ events: await count('consent_events'), consents: await count('consents') }).toEqual(before);
  });

  it('answers 404 for an unknown person', async () => {
    for (const [method, url] of [
      ['GET', '/v1/recipients/NOBODY'],
      ['GET', '/v1/recipients/NOBODY/consents'],
      ['POST', '/v1/recipients/NOBODY/consents'],
    ] as const) {
      const reply = await api.app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${all}`, 'idempotency-key': 'unknown-person-1' },
        ...(method === 'POST'
          ? {
              payload: {
                source: 'app',
                notice_version: NOTICE_VERSION,
                changes: [{ purpose: 'contests', channel: 'push', action: 'grant' }],
              },
            }
          : {}),
      });
      expect(reply.statusCode, `${method} ${url}`).toBe(404);
      expect(reply.json()).toMatchObject({ error: 'not_found' });
    }
  });

  it('answers 401 without a key or with an unknown or revoked one, and 403 without the scope', async () => {
    const none = await api.app.inject({ method: 'GET', url: '/v1/recipients/C-100' });
    expect(none.statusCode).toBe(401);
    const forged = await api.app.inject({
      method: 'GET',
      url: '/v1/recipients/C-100',
      headers: { authorization: 'Bearer cc_AAAAAAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB' },
    });
    expect(forged.statusCode).toBe(401);
    const readOnly = await api.key(['consents:read']);
    const write = await api.app.inject({
      method: 'PUT',
      url: '/v1/recipients/C-103',
      headers: { authorization: `Bearer ${readOnly}` },
      payload: {},
    });
    expect(write.statusCode).toBe(403);
    expect(write.json()).toMatchObject({
      error: 'forbidden',
      message: expect.stringContaining('recipients:write'),
    });
  });

  it('serves an OpenAPI document in which every /v1 operation has a response schema and a security requirement', async () => {
    const reply = await api.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(reply.statusCode).toBe(200);
    const doc = reply.json() as {
      paths: Record<string, Record<string, { responses?: Record<string, unknown> }>>;
    };
    const operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops).map(([m, op]) => ({ path, m, op })),
    );
    expect(operations.length).toBeGreaterThanOrEqual(10);
    for (const { path, m, op } of operations) {
      expect(path.startsWith('/v1/'), path).toBe(true);
      const success = Object.keys(op.responses ?? {}).filter((code) => code.startsWith('2'));
      expect(success.length, `${m} ${path}`).toBeGreaterThan(0);
    }
  });

  it('serves /docs as a self-contained page listing every /v1 operation of the OpenAPI document', async () => {
    const doc = (await api.app.inject({ method: 'GET', url: '/openapi.json' })).json() as {
      paths: Record<string, Record<string, unknown>>;
    };
    const reply = await api.app.inject({ method: 'GET', url: '/docs' });
    expect(reply.statusCode).toBe(200);
    expect(reply.headers['content-type']).toContain('text/html');
    for (const path of Object.keys(doc.paths)) expect(reply.body).toContain(`<code>${path}</code>`);
    expect(reply.body).not.toMatch(/<script|https?:\/\/(?!127\.0\.0\.1)/);
  });

  it('answers an unknown path with 404, with or without a key', async () => {
    for (const headers of [{}, { authorization: `Bearer ${all}` }]) {
      const reply = await api.app.inject({ method: 'GET', url: '/v1/no-such-thing', headers });
      expect(reply.statusCode).toBe(404);
    }
  });

  it('never writes client numbers or personal data into request logs', async () => {
    await api.app.inject({
      method: 'PUT',
      url: '/v1/recipients/SECRET-CN-42',
      headers: { authorization: `Bearer ${all}` },
      payload: { email: 'anna.berzina@example.lv', phone: '+37120012345', first_name: 'Anna' },
    });
    const logs = api.logs.join('\n');
    expect(logs).toContain('/v1/recipients/:clientNumber');
    expect(logs).not.toMatch(/SECRET-CN-42|anna|berzina|20012345|Anna/i);
  });
});
