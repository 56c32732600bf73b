import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getOffer, updateOffer } from '../../../src/offers/offers.js';
import { createTestApp, type TestApp } from '../../support/test-app.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';
import { EMAIL_LV, offerInput, SMS_LV } from '../../unit/offers/offer-fixture.js';

describe('the /v1/offers API', () => {
  let t: TestDatabase;
  let api: TestApp;
  let writer: string;
  let reader: string;

  beforeAll(async () => {
    t = await createTestDatabase();
    api = await createTestApp(t);
    writer = await api.key(['offers:write']);
    reader = await api.key(['reports:read']);
  });
  afterAll(async () => {
    await api.close();
    await t.drop();
  });

  const call = (method: 'GET' | 'POST' | 'PUT' | 'PATCH', url: string, key?: string, payload?: unknown) =>
    api.app.inject({
      method,
      url,
      ...(key !== undefined ? { headers: { authorization: `Bearer ${key}` } } : {}),
      ...(payload !== undefined ? { payload: payload as Record<string, unknown> } : {}),
    });
  const count = async (table: 'offers' | 'offer_contents' | 'audit_log') =>
    Number(
      (
        await api.deps.db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
  const fieldsOf = (body: unknown) => (body as { fields: { field: string; message: string }[] }).fields;

  it('creates a draft, answers with its SMS report, audits it with the key as actor, and reads it back', async () => {
    const created = await call('POST', '/v1/offers', writer, offerInput({ key: 'api-spring', priority: 5 }));
    expect(created.statusCode).toBe(201);
    const body = created.json() as Record<string, unknown>;
    expect(body).toMatchObject({
      key: 'api-spring',
      status: 'draft',
      priority: 5,
      owner: 'own',
      partner_name: null,
      contents: { email: { lv: EMAIL_LV }, sms: { lv: SMS_LV } },
      sms: { lv: { asWritten: { encoding: 'GSM-7' } } },
      warnings: [],
    });
    const entry = await api.deps.db
      .selectFrom('audit_log')
      .select(['actor_type', 'actor_id', 'action', 'request_id'])
      .where('action', '=', 'offer.create')
      .executeTakeFirstOrThrow();
    expect(entry).toMatchObject({ actor_type: 'api_key', action: 'offer.create' });
    expect(entry.request_id).toBe(created.headers['x-request-id']);

    const read = await call('GET', '/v1/offers/api-spring', reader);
    expect(read.statusCode).toBe(200);
    expect(read.json()).toEqual(body);
  });

  it('lists offers by purpose and status, without templates, paged by id', async () => {
    await call('POST', '/v1/offers', writer, offerInput({ key: 'api-contest', purpose: 'contests' }));
    await call('POST', '/v1/offers', writer, offerInput({ key: 'api-feedback', purpose: 'feedback' }));
    await call('POST', '/v1/offers/api-feedback/activate', writer);
    const contests = await call('GET', '/v1/offers?purpose=contests', reader);
    expect(contests.statusCode).toBe(200);
    const list = contests.json() as { offers: Record<string, unknown>[]; next_after: number | null };
    expect(list.offers.map((o) => o.key)).toEqual(['api-contest']);
    expect(list.offers[0]).toMatchObject({ locales: { email: ['en', 'lv'], sms: ['lv'], push: ['lv'] } });
    expect(list.offers[0]).not.toHaveProperty('contents');
    const active = (await call('GET', '/v1/offers?status=active', reader)).json() as {
      offers: { key: string }[];
    };
    expect(active.offers.map((o) => o.key)).toEqual(['api-feedback']);

    const first = (await call('GET', '/v1/offers?limit=1', reader)).json() as {
      offers: { key: string }[];
      next_after: number;
    };
    expect(first.offers).toHaveLength(1);
    const second = (await call('GET', `/v1/offers?limit=1&after=${first.next_after}`, reader)).json() as {
      offers: { key: string }[];
    };
    expect(second.offers[0]?.key).not.toBe(first.offers[0]?.key);

    const bad = await call('GET', '/v1/offers?purpose=spam&status=live&limit=0', reader);
    expect(bad.statusCode).toBe(400);
    expect([...new Set(fieldsOf(bad.json()).map((f) => f.field))].sort()).toEqual([
      'query/limit',
      'query/purpose',
      'query/status',
    ]);
  });

  it('names every invalid field of an offer in one 400, templates with their reason, and writes nothing', async () => {
    const before = { offers: await count('offers'), audit: await count('audit_log') };
    const reply = await call('POST', '/v1/offers', writer, {
      key: 'Bad Key!',
      name: '',
      purpose: 'spam',
      priority: 5000,
      colour: 'red',
      contents: {
        email: {
          lv: { ...EMAIL_LV, html: '<p onclick="x()">{{unsubscribe_url}}</p>' },
        },
        sms: { lv: { text: 'Jūsu e-pasts: {{email}} {{offer_url}}' } },
        fax: {},
      },
    });
    expect(reply.statusCode).toBe(400);
    const fields = fieldsOf(reply.json());
    expect(fields.map((f) => f.field)).toEqual(
      expect.arrayContaining([
        'key',
        'name',
        'purpose',
        'priority',
        'colour',
        'contents/email/lv/html',
        'contents/sms/lv/text',
        'contents/fax',
      ]),
    );
    expect(fields.find((f) => f.field === 'contents/email/lv/html')?.message).toMatch(/onclick/);
    expect(fields.find((f) => f.field === 'contents/sms/lv/text')?.message).toMatch(/email/);
    expect({ offers: await count('offers'), audit: await count('audit_log') }).toEqual(before);

    const notObject = await call('POST', '/v1/offers', writer, [1, 2]);
    expect(notObject.statusCode).toBe(400);
  });

  it('replaces an offer with PUT and changes single fields with PATCH (merge patch), keeping the rest', async () => {
    await call(
      'POST',
      '/v1/offers',
      writer,
      offerInput({ key: 'api-patch', valid_until: '2099-01-01T00:00:00Z' }),
    );
    const patched = await call('PATCH', '/v1/offers/api-patch', writer, {
      priority: 9,
      valid_until: null,
      contents: { sms: { lv: { text: 'Klix: jauns piedavajums {{offer_url}}' } } },
    });
    expect(patched.statusCode).toBe(200);
    expect(patched.json()).toMatchObject({
      priority: 9,
      valid_until: null,
      contents: { email: { lv: EMAIL_LV }, sms: { lv: { text: 'Klix: jauns piedavajums {{offer_url}}' } } },
    });
    const removed = await call('PATCH', '/v1/offers/api-patch', writer, { contents: { push: null } });
    expect(removed.json()).not.toHaveProperty('contents.push');

    const renamed = await call('PATCH', '/v1/offers/api-patch', writer, { key: 'other-key' });
    expect(renamed.statusCode).toBe(400);
    expect(fieldsOf(renamed.json())).toEqual([{ field: 'key', message: expect.stringContaining('cannot') }]);

    const replaced = await call(
      'PUT',
      '/v1/offers/api-patch',
      writer,
      offerInput({ key: 'api-patch', name: 'New' }),
    );
    expect(replaced.statusCode).toBe(200);
    expect(replaced.json()).toMatchObject({ name: 'New', priority: 0 });
    const changes = await api.deps.db
      .selectFrom('audit_log')
      .select('details')
      .where('action', '=', 'offer.update')
      .where('subject_id', '=', String((replaced.json() as { id: number }).id))
      .orderBy('id')
      .execute();
    expect(changes).toHaveLength(3);
  });

  it('refuses an update based on a stale read with 409 offer_changed, writing nothing', async () => {
    await call('POST', '/v1/offers', writer, offerInput({ key: 'api-stale' }));
    const read = await getOffer(api.deps.db, 'api-stale');
    await call('PATCH', '/v1/offers/api-stale', writer, { priority: 3 });
    const who = { actor: { type: 'api_key' as const, id: 'test' } };
    await expect(
      updateOffer(api.deps.db, 'api-stale', offerInput({ key: 'api-stale', priority: 7 }), who, {
        updatedAt: read?.offer.updatedAt ?? new Date(0),
      }),
    ).rejects.toMatchObject({ code: 'offer_changed' });
    expect((await getOffer(api.deps.db, 'api-stale'))?.offer.priority).toBe(3);
  });

  it('activates and archives, and answers 409 for what the status forbids', async () => {
    await call('POST', '/v1/offers', writer, offerInput({ key: 'api-life' }));
    expect((await call('POST', '/v1/offers/api-life/activate', writer)).json()).toMatchObject({
      status: 'active',
    });
    expect((await call('POST', '/v1/offers/api-life/archive', writer)).json()).toMatchObject({
      status: 'archived',
    });
    const again = await call('POST', '/v1/offers/api-life/activate', writer);
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ error: 'offer_archived' });
    const edit = await call('PUT', '/v1/offers/api-life', writer, offerInput({ key: 'api-life' }));
    expect(edit.statusCode).toBe(409);

    const empty = await call('POST', '/v1/offers', writer, offerInput({ key: 'api-empty', contents: {} }));
    expect(empty.statusCode).toBe(201);
    const noContent = await call('POST', '/v1/offers/api-empty/activate', writer);
    expect(noContent.statusCode).toBe(409);
    expect(noContent.json()).toMatchObject({ error: 'offer_without_content' });

    const taken = await call('POST', '/v1/offers', writer, offerInput({ key: 'api-life' }));
    expect(taken.statusCode).toBe(409);
    expect(taken.json()).toMatchObject({ error: 'offer_key_taken' });
  });

  it('answers 404 for an unknown offer on every route', async () => {
    for (const [method, url] of [
      ['GET', '/v1/offers/no-such-offer'],
      ['PUT', '/v1/offers/no-such-offer'],
      ['PATCH', '/v1/offers/no-such-offer'],
      ['POST', '/v1/offers/no-such-offer/activate'],
      ['POST', '/v1/offers/no-such-offer/archive'],
    ] as const) {
      const payload =
        method === 'PUT' ? offerInput({ key: 'no-such-offer' }) : method === 'PATCH' ? {} : undefined;
      const reply = await call(method, url, writer, payload);
      expect(reply.statusCode, `${method} ${url}`).toBe(404);
    }
  });

  it('checks an offer without saving it, with the SMS segments and their warning', async () => {
    const before = await count('offers');
    const long = `Klix: ${'piedāvājums '.repeat(25)}{{offer_url}}`;
    const reply = await call(
      'POST',
      '/v1/offers/check',
      writer,
      offerInput({ key: 'api-check', contents: { sms: { lv: { text: long } } } }),
    );
    expect(reply.statusCode).toBe(200);
    const body = reply.json() as { sms: { lv: { asWritten: { encoding: string; segments: number } } } };
    expect(body.sms.lv.asWritten.encoding).toBe('UCS-2');
    expect(body.sms.lv.asWritten.segments).toBeGreaterThan(3);
    expect(body).toMatchObject({ warnings: [{ field: 'contents/sms/lv/text' }] });
    const invalid = await call('POST', '/v1/offers/check', writer, offerInput({ purpose: 'spam' }));
    expect(fieldsOf(invalid.json())).toEqual([{ field: 'purpose', message: expect.any(String) }]);
    expect(await count('offers')).toBe(before);
  });

  it('refuses e-mail HTML the parser finds unsafe with a 400 naming each part, what and where', async () => {
    const before = await count('offers');
    const reply = await call(
      'POST',
      '/v1/offers/check',
      writer,
      offerInput({
        key: 'api-unsafe-html',
        contents: {
          email: {
            lv: {
              ...EMAIL_LV,
              html: `<link rel="stylesheet" href="https://evil.example/x.css">\n<style>@import url(x.css);</style>${EMAIL_LV.html}`,
            },
            en: {
              ...EMAIL_LV,
              html: `<svg><a><set attributeName="href" to="&#106;avascript:alert(1)"/></a></svg>${EMAIL_LV.html}`,
            },
          },
        },
      }),
    );
    expect(reply.statusCode).toBe(400);
    const fields = fieldsOf(reply.json());
    expect(fields).toHaveLength(3);
    expect(fields).toEqual(
      expect.arrayContaining([
        {
          field: 'contents/email/en/html',
          message: expect.stringMatching(/^<svg> is not allowed.*\(line 1, column 1\)$/),
        },
        {
          field: 'contents/email/lv/html',
          message: expect.stringMatching(/^<link> is not allowed.*\(line 1, column 1\)$/),
        },
        {
          field: 'contents/email/lv/html',
          message: expect.stringMatching(/^<style> may not load .*\(line 2, column 1\)$/),
        },
      ]),
    );
    const created = await call('POST', '/v1/offers', writer, offerInput({ key: 'api-safe-html' }));
    expect(created.statusCode).toBe(201);
    const patched = await call('PATCH', '/v1/offers/api-safe-html', writer, {
      contents: { email: { lv: { html: `<a href="data:text/html,x">x</a>${EMAIL_LV.html}` } } },
    });
    expect(patched.statusCode).toBe(400);
    expect(fieldsOf(patched.json())).toEqual([
      {
        field: 'contents/email/lv/html',
        message: expect.stringContaining('"data:" links are not allowed in href'),
      },
    ]);
    expect(await count('offers')).toBe(before + 1);
  });

  it('answers 401 without a key, 403 to a reader who writes and to a key with no reading scope', async () => {
    expect((await call('GET', '/v1/offers')).statusCode).toBe(401);
    const write = await call('POST', '/v1/offers', reader, offerInput({ key: 'api-forbidden' }));
    expect(write.statusCode).toBe(403);
    expect(write.json()).toMatchObject({ message: expect.stringContaining('offers:write') });
    const consents = await api.key(['consents:read']);
    const read = await call('GET', '/v1/offers', consents);
    expect(read.statusCode).toBe(403);
    expect(read.json()).toMatchObject({
      message: expect.stringContaining('offers:write or campaigns:write or reports:read'),
    });
    const campaigns = await api.key(['campaigns:write']);
    expect((await call('GET', '/v1/offers/api-spring', campaigns)).statusCode).toBe(200);
  });

  it('documents every offers route in the OpenAPI document', async () => {
    const doc = (await call('GET', '/openapi.json')).json() as {
      paths: Record<string, Record<string, unknown>>;
    };
    expect(Object.keys(doc.paths['/v1/offers'] ?? {}).sort()).toEqual(['get', 'post']);
    expect(Object.keys(doc.paths['/v1/offers/{key}'] ?? {}).sort()).toEqual(['get', 'patch', 'put']);
    for (const p of ['/v1/offers/check', '/v1/offers/{key}/activate', '/v1/offers/{key}/archive']) {
      expect(doc.paths[p], p).toHaveProperty('post');
    }
  });
});
