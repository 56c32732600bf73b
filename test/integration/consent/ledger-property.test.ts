import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOTICE_VERSION, seedNotice } from '../../support/fixtures.js';
import { createTestApp, type TestApp } from '../../support/test-app.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';

type Action = 'grant' | 'withdraw';
interface Change {
  purpose: 'service_offers' | 'contests';
  channel: 'email' | 'sms';
  action: Action;
  minute: number;
}
interface LogicalRequest {
  changes: Change[];
  copies: number;
}

const change = fc.record({
  purpose: fc.constantFrom('service_offers' as const, 'contests' as const),
  channel: fc.constantFrom('email' as const, 'sms' as const),
  action: fc.constantFrom('grant' as const, 'withdraw' as const),
  // few distinct instants, so equal timestamps and out-of-order arrival are common
  minute: fc.integer({ min: 0, max: 4 }),
});
const logicalRequest = fc.record({
  changes: fc.array(change, { minLength: 1, maxLength: 3 }),
  copies: fc.integer({ min: 1, max: 3 }),
});

const iso = (minute: number) => new Date(Date.UTC(2024, 4, 1, 12, minute)).toISOString();

describe('the consent ledger through the HTTP API and PostgreSQL (N1, N13)', () => {
  let t: TestDatabase;
  let api: TestApp;
  let key: string;
  let person = 0;

  beforeAll(async () => {
    t = await createTestDatabase();
    api = await createTestApp(t);
    await seedNotice(api.deps.db);
    key = await api.key(['recipients:write', 'consents:write', 'consents:read']);
  });
  afterAll(async () => {
    await api.close();
    await t.drop();
  });

  const send = (clientNumber: string, idempotencyKey: string, changes: Change[]) =>
    api.app.inject({
      method: 'POST',
      url: `/v1/recipients/${clientNumber}/consents`,
      headers: { authorization: `Bearer ${key}`, 'idempotency-key': idempotencyKey },
      payload: {
        source: 'app',
        notice_version: NOTICE_VERSION,
        changes: changes.map((c) => ({
          purpose: c.purpose,
          channel: c.channel,
          action: c.action,
          occurred_at: iso(c.minute),
        })),
      },
    });

  it('ends in the latest-occurring event (withdrawal winning ties) and records one event per distinct request', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(logicalRequest, { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 4 }),
        fc.infiniteStream(fc.integer({ min: 0, max: 1_000_000 })),
        async (requests: LogicalRequest[], parallelism, order) => {
          person += 1;
          const clientNumber = `P-${person}`;
          const created = await api.app.inject({
            method: 'PUT',
            url: `/v1/recipients/${clientNumber}`,
            headers: { authorization: `Bearer ${key}` },
            payload: { locale: 'lv' },
          });
          expect(created.statusCode).toBe(201);

          // every copy of every request, shuffled, sent `parallelism` at a time: retries race each other
          const copies = requests.flatMap((r, i) => Array.from({ length: r.copies }, () => ({ i, r })));
          const it = order[Symbol.iterator]();
          const shuffled = copies
            .map((c) => ({ c, k: it.next().value as number }))
            .sort((a, b) => a.k - b.k)
            .map((x) => x.c);
          const bodies = new Map<number, string[]>();
          for (let start = 0; start < shuffled.length; start += parallelism) {
            const wave = shuffled.slice(start, start + parallelism);
            const replies = await Promise.all(
              wave.map(({ i, r }) => send(clientNumber, `request-${person}-${i}`, r.changes)),
            );
            replies.forEach((reply, n) => {
              expect([200, 201], reply.body).toContain(reply.statusCode);
              const i = wave[n]?.i ?? -1;
              bodies.set(i, [...(bodies.get(i) ?? []), reply.body]);
            });
          }
          // a retry replays exactly what the first attempt answered
          for (const answers of bodies.values()) expect(new Set(answers).size).toBe(1);

          const recipient = await api.deps.db
            .selectFrom('recipients')
            .select('id')
            .where('client_number', '=', clientNumber)
            .executeTakeFirstOrThrow();
          const events = await api.deps.db
            .selectFrom('consent_events')
            .select(['purpose', 'channel', 'action'])
            .where('recipient_id', '=', recipient.id)
            .execute();
          expect(events).toHaveLength(requests.reduce((n, r) => n + r.changes.length, 0));

          const state = await api.deps.db
            .selectFrom('consents')
            .select(['purpose', 'channel', 'status'])
            .where('recipient_id', '=', recipient.id)
            .execute();
          const all = requests.flatMap((r) => r.changes);
          const keys = new Set(all.map((c) => `${c.purpose}/${c.channel}`));
          expect(state).toHaveLength(keys.size);
          for (const k of keys) {
            const mine = all.filter((c) => `${c.purpose}/${c.channel}` === k);
            const latest = Math.max(...mine.map((c) => c.minute));
            const expected = mine.some((c) => c.minute === latest && c.action === 'withdraw')
              ? 'withdrawn'
              : 'granted';
            expect(state.find((s) => `${s.purpose}/${s.channel}` === k)?.status, k).toBe(expected);
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it('refuses a reused idempotency key carrying a different request, and records nothing for it', async () => {
    const clientNumber = 'P-reuse';
    await api.app.inject({
      method: 'PUT',
      url: `/v1/recipients/${clientNumber}`,
      headers: { authorization: `Bearer ${key}` },
      payload: {},
    });
    const first = await send(clientNumber, 'same-key-1', [
      { purpose: 'contests', channel: 'email', action: 'grant', minute: 1 },
    ]);
    expect(first.statusCode).toBe(201);
    const second = await send(clientNumber, 'same-key-1', [
      { purpose: 'contests', channel: 'email', action: 'withdraw', minute: 2 },
    ]);
    expect(second.statusCode).toBe(409);
    expect(second.json()).toMatchObject({ error: 'idempotency_key_reused' });
    const consents = await api.app.inject({
      method: 'GET',
      url: `/v1/recipients/${clientNumber}/consents`,
      headers: { authorization: `Bearer ${key}` },
    });
    expect(consents.json()).toMatchObject({
      consents: [{ purpose: 'contests', channel: 'email', status: 'granted' }],
    });
  });
});
