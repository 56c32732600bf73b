import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consentDecision, type PersonMarkers } from '../../../src/consent/decision.js';
import { createTestApp, type TestApp } from '../../support/test-app.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';
import { distinctivePii, fileAndExecute, type Pii, type Seeded, seedRichPerson } from './seed.js';

describe('restriction, objections and rectification (N9, N14)', () => {
  let t: TestDatabase;
  let api: TestApp;
  let key: string;

  beforeAll(async () => {
    t = await createTestDatabase();
    api = await createTestApp(t);
    key = await api.key(['recipients:write', 'recipients:read', 'consents:write', 'consents:read', 'dsr']);
  });
  afterAll(async () => {
    await api.close();
    await t.drop();
  });

  async function markers(recipientId: number): Promise<PersonMarkers & { profilingObjected: boolean }> {
    const row = await t.db
      .selectFrom('recipients')
      .select(['restricted_at', 'objected_at', 'profiling_objected_at', 'erased_at'])
      .where('id', '=', recipientId)
      .executeTakeFirstOrThrow();
    return {
      erased: row.erased_at !== null,
      objected: row.objected_at !== null,
      restricted: row.restricted_at !== null,
      profilingObjected: row.profiling_objected_at !== null,
    };
  }

  async function status(recipientId: number, purpose: 'service_offers' | 'partner_offers', channel: 'email') {
    const row = await t.db
      .selectFrom('consents')
      .select('status')
      .where('recipient_id', '=', recipientId)
      .where('purpose', '=', purpose)
      .where('channel', '=', channel)
      .executeTakeFirst();
    return row?.status;
  }

  async function seed(tag: string): Promise<{ p: Pii; s: Seeded }> {
    const p = distinctivePii(tag);
    return { p, s: await seedRichPerson(api, key, p) };
  }

  it('blocks all sending while restricted, and lets the consents apply again once lifted', async () => {
    const { p, s } = await seed('restrict');
    expect(
      consentDecision(await status(s.recipientId, 'service_offers', 'email'), await markers(s.recipientId)),
    ).toEqual({ allowed: true });

    const restricted = await fileAndExecute(api, key, p.clientNumber, 'restrict');
    expect(restricted.reply.statusCode).toBe(200);
    expect(restricted.reply.json()).toMatchObject({ result: { kind: 'restrict', changed: true } });
    expect(
      consentDecision(await status(s.recipientId, 'service_offers', 'email'), await markers(s.recipientId)),
    ).toEqual({ allowed: false, reason: 'restricted' });
    const view = await api.app.inject({
      method: 'GET',
      url: `/v1/recipients/${p.clientNumber}`,
      headers: { authorization: `Bearer ${key}` },
    });
    expect(view.json()).toMatchObject({ restricted_at: expect.any(String) });
    // Consents are untouched by a restriction.
    expect(await status(s.recipientId, 'service_offers', 'email')).toBe('granted');

    const lifted = await fileAndExecute(api, key, p.clientNumber, 'lift_restriction');
    expect(lifted.reply.json()).toMatchObject({
      request: { status: 'completed', outcome: 'lift restriction: done' },
      result: { kind: 'lift_restriction', changed: true },
    });
    expect(
      consentDecision(await status(s.recipientId, 'service_offers', 'email'), await markers(s.recipientId)),
    ).toEqual({ allowed: true });
  });

  it('withdraws every grant with reason objection and sets the marker when the person objects to marketing', async () => {
    const { p, s } = await seed('object');
    const before = await t.db
      .selectFrom('consent_events')
      .select('id')
      .where('recipient_id', '=', s.recipientId)
      .execute();
    const { reply } = await fileAndExecute(api, key, p.clientNumber, 'object_marketing', {
      reason: 'phone call',
    });
    expect(reply.statusCode).toBe(200);
    expect(reply.json()).toMatchObject({ result: { kind: 'object_marketing', changed: true, withdrawn: 4 } });

    const events = await t.db
      .selectFrom('consent_events')
      .select(['action', 'source', 'reason'])
      .where('recipient_id', '=', s.recipientId)
      .where('id', '>', Math.max(...before.map((e) => e.id)))
      .execute();
    expect(events).toEqual(Array(4).fill({ action: 'withdraw', source: 'operator', reason: 'objection' }));
    const states = await t.db
      .selectFrom('consents')
      .select('status')
      .where('recipient_id', '=', s.recipientId)
      .execute();
    expect(states.every((c) => c.status === 'withdrawn')).toBe(true);
    const m = await markers(s.recipientId);
    expect(m.objected).toBe(true);
    expect(consentDecision('granted', m)).toEqual({ allowed: false, reason: 'objected' });
    const entry = await t.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'dsr.object_marketing')
      .where('recipient_id', '=', s.recipientId)
      .executeTakeFirstOrThrow();
    expect(entry).toMatchObject({ actor_type: 'api_key', reason: 'phone call' });
  });

  it('keeps every consent when the person objects only to profiling, and sets the profiling marker', async () => {
    const { p, s } = await seed('profiling');
    const before = await t.db
      .selectFrom('consents')
      .select(['purpose', 'channel', 'status', 'event_id'])
      .where('recipient_id', '=', s.recipientId)
      .orderBy('purpose')
      .orderBy('channel')
      .execute();
    const { reply } = await fileAndExecute(api, key, p.clientNumber, 'object_profiling');
    expect(reply.json()).toMatchObject({ result: { kind: 'object_profiling', changed: true } });
    const after = await t.db
      .selectFrom('consents')
      .select(['purpose', 'channel', 'status', 'event_id'])
      .where('recipient_id', '=', s.recipientId)
      .orderBy('purpose')
      .orderBy('channel')
      .execute();
    expect(after).toEqual(before);
    const m = await markers(s.recipientId);
    expect(m).toMatchObject({ profilingObjected: true, objected: false, restricted: false });
    expect(consentDecision('granted', m)).toEqual({ allowed: true });
  });

  it('rectifies the given fields and audits their names only, never a value', async () => {
    const { p, s } = await seed('rectify');
    const { id, reply } = await fileAndExecute(api, key, p.clientNumber, 'rectify', {
      fields: {
        last_name: 'Bērziņa-Rectified',
        email: 'New.Address.Rectified@Example.lv',
        phone: `+371 ${p.localPhone}`, // the same number in another form: not a change
        attributes: { interests: ['chess-rectified'] },
      },
    });
    expect(reply.statusCode).toBe(200);
    expect(reply.json()).toMatchObject({
      request: { id, status: 'completed', outcome: 'rectified: last_name, email, attributes' },
      result: { kind: 'rectify', changed: ['last_name', 'email', 'attributes'] },
    });
    const row = await t.db
      .selectFrom('recipients')
      .selectAll()
      .where('id', '=', s.recipientId)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      first_name: p.firstName,
      last_name: 'Bērziņa-Rectified',
      email: 'new.address.rectified@example.lv',
      attributes: { interests: ['chess-rectified'] },
    });
    const entries = await t.db
      .selectFrom('audit_log')
      .selectAll()
      .where('recipient_id', '=', s.recipientId)
      .where('action', 'like', 'dsr.%')
      .execute();
    const rectified = entries.find((e) => e.action === 'dsr.rectify');
    expect(rectified?.details).toEqual({ dsr_request_id: id, fields: ['last_name', 'email', 'attributes'] });
    const text = JSON.stringify(entries).toLowerCase();
    for (const value of ['rectified', p.lastName, p.email, p.localPhone, p.attributeValues[0] ?? '']) {
      expect(text).not.toContain(value.toLowerCase());
    }
  });

  it('names every invalid corrected field in one 400 and changes nothing', async () => {
    const { p, s } = await seed('badfix');
    const { reply } = await fileAndExecute(api, key, p.clientNumber, 'rectify', {
      fields: { email: 'not-an-address', phone: '123', birth_date: '2999-01-01' },
    });
    expect(reply.statusCode).toBe(400);
    const fields = (reply.json() as { fields: { field: string }[] }).fields.map((f) => f.field).sort();
    expect(fields).toEqual(['body/fields/birth_date', 'body/fields/email', 'body/fields/phone']);
    const row = await t.db
      .selectFrom('recipients')
      .select('email')
      .where('id', '=', s.recipientId)
      .executeTakeFirstOrThrow();
    expect(row.email).toBe(p.email);
  });

  it('refuses corrected fields on a request of another kind, and a rectify request without them', async () => {
    const { p } = await seed('wrongkind');
    const other = await fileAndExecute(api, key, p.clientNumber, 'restrict', { fields: { first_name: 'X' } });
    expect(other.reply.statusCode).toBe(400);
    expect(other.reply.json()).toMatchObject({ fields: [{ field: 'body/fields' }] });
    const bare = await fileAndExecute(api, key, p.clientNumber, 'rectify');
    expect(bare.reply.statusCode).toBe(400);
    expect(bare.reply.json()).toMatchObject({ fields: [{ field: 'body/fields' }] });
  });
});
