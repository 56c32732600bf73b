import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dueAt } from '../../../src/dsr/dsr.rules.js';
import { createTestApp, type TestApp } from '../../support/test-app.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';

interface RequestView {
  id: number;
  kind: string;
  status: string;
  due_at: string;
  overdue: boolean;
  outcome: string | null;
  identity_checked_by: string | null;
}

describe('the register of data-subject requests (N14)', () => {
  let t: TestDatabase;
  let api: TestApp;
  let key: string;

  beforeAll(async () => {
    t = await createTestDatabase();
    api = await createTestApp(t);
    key = await api.key(['dsr', 'recipients:write']);
    for (const cn of ['REG-1', 'REG-2', 'REG-3']) {
      await api.app.inject({
        method: 'PUT',
        url: `/v1/recipients/${cn}`,
        headers: { authorization: `Bearer ${key}` },
        payload: { first_name: 'Test' },
      });
    }
  });
  afterAll(async () => {
    await api.close();
    await t.drop();
  });

  const call = (method: 'GET' | 'POST', url: string, payload?: object, auth: string | null = key) =>
    api.app.inject({
      method,
      url,
      headers: auth === null ? {} : { authorization: `Bearer ${auth}` },
      ...(payload !== undefined ? { payload } : {}),
    });

  async function create(body: object): Promise<RequestView> {
    const reply = await call('POST', '/v1/dsr/requests', body);
    expect(reply.statusCode, reply.body).toBe(201);
    return reply.json() as RequestView;
  }

  it('makes a request due one calendar month after receipt, on the Riga calendar', async () => {
    const created = await create({
      client_number: 'REG-1',
      kind: 'access',
      received_via: 'letter',
      received_at: '2024-01-31T10:00:00Z',
    });
    expect(created).toMatchObject({ status: 'received', due_at: '2024-02-29T10:00:00.000Z', overdue: true });
    // Late evening of 31 March in UTC is already 1 April in Riga: due 1 May in Riga, not 30 April.
    expect(dueAt(new Date('2024-03-31T22:30:00Z')).toISOString()).toBe('2024-04-30T22:30:00.000Z');
    // 14:00 in Riga stays 14:00 in Riga across the change to summer time.
    expect(dueAt(new Date('2024-03-15T12:00:00Z')).toISOString()).toBe('2024-04-15T11:00:00.000Z');
    expect(dueAt(new Date('2024-12-15T08:00:00Z')).toISOString()).toBe('2025-01-15T08:00:00.000Z');
    expect(dueAt(new Date('2023-10-29T12:00:00Z')).toISOString()).toBe('2023-11-29T12:00:00.000Z');
  });

  it('lists open requests by due date, flags the overdue ones, and leaves closed ones out', async () => {
    const late = await create({
      client_number: 'REG-2',
      kind: 'erase',
      received_via: 'email',
      received_at: '2020-05-01T00:00:00Z',
    });
    const fresh = await create({ client_number: 'REG-2', kind: 'restrict', received_via: 'app' });
    const closed = await create({ client_number: 'REG-3', kind: 'access', received_via: 'branch' });
    const rejected = await call('POST', `/v1/dsr/requests/${closed.id}/reject`, {
      reason: 'identity not confirmed',
    });
    expect(rejected.json()).toMatchObject({ status: 'rejected', outcome: 'identity not confirmed' });

    const list = (await call('GET', '/v1/dsr/requests')).json() as { requests: RequestView[] };
    const ids = list.requests.map((r) => r.id);
    expect(ids.indexOf(late.id)).toBeLessThan(ids.indexOf(fresh.id));
    expect(ids).not.toContain(closed.id);
    const dues = list.requests.map((r) => r.due_at);
    expect(dues).toEqual([...dues].sort());
    expect(list.requests.find((r) => r.id === late.id)?.overdue).toBe(true);
    expect(list.requests.find((r) => r.id === fresh.id)?.overdue).toBe(false);
  });

  it('moves received to in progress with the identity check, and in progress to completed on execution', async () => {
    const r = await create({ client_number: 'REG-3', kind: 'restrict', received_via: 'phone' });
    const early = await call('POST', `/v1/dsr/requests/${r.id}/execute`, {});
    expect(early.statusCode).toBe(409);
    expect(early.json()).toMatchObject({ error: 'identity_not_checked' });
    expect((await call('GET', `/v1/dsr/requests/${r.id}`)).json()).toMatchObject({ status: 'received' });

    const checked = await call('POST', `/v1/dsr/requests/${r.id}/identity-check`, { checked_by: 'agent-12' });
    expect(checked.json()).toMatchObject({ status: 'in_progress', identity_checked_by: 'agent-12' });
    const twice = await call('POST', `/v1/dsr/requests/${r.id}/identity-check`, { checked_by: 'agent-12' });
    expect(twice.statusCode).toBe(409);
    expect(twice.json()).toMatchObject({ error: 'identity_already_checked' });

    const done = await call('POST', `/v1/dsr/requests/${r.id}/execute`, {});
    expect(done.statusCode).toBe(200);
    expect(done.json()).toMatchObject({ request: { status: 'completed', completed_at: expect.any(String) } });
    for (const [url, body] of [
      [`/v1/dsr/requests/${r.id}/execute`, {}],
      [`/v1/dsr/requests/${r.id}/reject`, { reason: 'late' }],
    ] as const) {
      const again = await call('POST', url, body);
      expect(again.statusCode, url).toBe(409);
      expect(again.json()).toMatchObject({ error: 'dsr_closed' });
    }
  });

  it('refuses to export before the identity check too: disclosure needs it as much as a change does', async () => {
    const r = await create({ client_number: 'REG-1', kind: 'portability', received_via: 'web' });
    const reply = await call('POST', `/v1/dsr/requests/${r.id}/execute`, {});
    expect(reply.statusCode).toBe(409);
    expect(reply.json()).toMatchObject({ error: 'identity_not_checked' });
  });

  it('audits every step of the register with the actor and the person', async () => {
    const r = await create({ client_number: 'REG-1', kind: 'object_profiling', received_via: 'email' });
    await call('POST', `/v1/dsr/requests/${r.id}/identity-check`, { checked_by: 'agent-3' });
    await call('POST', `/v1/dsr/requests/${r.id}/execute`, { reason: 'form 7' });
    const entries = await t.db
      .selectFrom('audit_log')
      .select(['action', 'actor_type', 'recipient_id', 'subject_type', 'reason'])
      .where((eb) =>
        eb.or([
          eb.and([eb('subject_type', '=', 'dsr_request'), eb('subject_id', '=', String(r.id))]),
          eb('action', '=', 'dsr.object_profiling'),
        ]),
      )
      .orderBy('id')
      .execute();
    expect(entries.map((e) => e.action)).toEqual([
      'dsr.request.create',
      'dsr.request.identity_check',
      'dsr.object_profiling',
    ]);
    expect(entries.every((e) => e.actor_type === 'api_key' && e.recipient_id !== null)).toBe(true);
    expect(entries[2]?.reason).toBe('form 7');
  });

  it('names every invalid field of a new request in one 400', async () => {
    const reply = await call('POST', '/v1/dsr/requests', {
      client_number: 'not a client number!',
      kind: 'forget_me',
      received_via: 'pigeon',
      received_at: 'yesterday',
      note: 'unexpected',
    });
    expect(reply.statusCode).toBe(400);
    const fields = (reply.json() as { fields: { field: string }[] }).fields.map((f) => f.field);
    expect(fields).toEqual(
      expect.arrayContaining([
        'body/client_number',
        'body/kind',
        'body/received_via',
        'body/received_at',
        'body/note',
      ]),
    );
    const missing = await call('POST', '/v1/dsr/requests', {});
    expect((missing.json() as { fields: { field: string }[] }).fields.map((f) => f.field)).toEqual(
      expect.arrayContaining(['body/client_number', 'body/kind', 'body/received_via']),
    );
    const future = await call('POST', '/v1/dsr/requests', {
      client_number: 'REG-1',
      kind: 'access',
      received_via: 'email',
      received_at: '2999-01-01T00:00:00Z',
    });
    expect(future.statusCode).toBe(400);
    expect(future.json()).toMatchObject({
      fields: [{ field: 'body/received_at', message: 'is in the future' }],
    });
  });

  it('answers 404 for an unknown request or person', async () => {
    for (const [method, url, body] of [
      ['GET', '/v1/dsr/requests/999999', undefined],
      ['POST', '/v1/dsr/requests/999999/identity-check', { checked_by: 'x' }],
      ['POST', '/v1/dsr/requests/999999/execute', {}],
      ['POST', '/v1/dsr/requests/999999/reject', { reason: 'x' }],
      ['POST', '/v1/dsr/requests', { client_number: 'NOBODY', kind: 'access', received_via: 'email' }],
    ] as const) {
      const reply = await call(method, url, body);
      expect(reply.statusCode, `${method} ${url}`).toBe(404);
      expect(reply.json()).toMatchObject({ error: 'not_found' });
    }
  });

  it('answers 401 without a key and 403 with a key lacking the dsr scope', async () => {
    const readOnly = await api.key(['consents:read']);
    for (const [method, url, body] of [
      ['GET', '/v1/dsr/requests', undefined],
      ['GET', '/v1/dsr/requests/1', undefined],
      ['POST', '/v1/dsr/requests', { client_number: 'REG-1', kind: 'access', received_via: 'email' }],
      ['POST', '/v1/dsr/requests/1/identity-check', { checked_by: 'x' }],
      ['POST', '/v1/dsr/requests/1/execute', {}],
      ['POST', '/v1/dsr/requests/1/reject', { reason: 'x' }],
    ] as const) {
      expect((await call(method, url, body, null)).statusCode, `${method} ${url}`).toBe(401);
      const forbidden = await call(method, url, body, readOnly);
      expect(forbidden.statusCode, `${method} ${url}`).toBe(403);
      expect(forbidden.json()).toMatchObject({ error: 'forbidden', message: expect.stringContaining('dsr') });
    }
  });
});
