import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../support/test-app.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';

describe('an erasure racing a re-create of the same client number', () => {
  let t: TestDatabase;
  let api: TestApp;
  let key: string;
  beforeAll(async () => {
    t = await createTestDatabase();
    api = await createTestApp(t);
    key = await api.key(['recipients:write', 'dsr']);
  });
  afterAll(async () => {
    await api.close();
    await t.drop();
  });

  const call = (method: 'POST' | 'PUT', url: string, payload: object) =>
    api.app.inject({ method, url, headers: { authorization: `Bearer ${key}` }, payload });

  it('never leaves the erased person alive again: the re-create is refused or erased with them', async () => {
    const outcomes = new Set<number>();
    for (let i = 0; i < 15; i++) {
      const clientNumber = `RACE-${i}`;
      expect(
        (
          await call('PUT', `/v1/recipients/${clientNumber}`, {
            first_name: 'Ilze',
            email: `ilze${i}@example.lv`,
          })
        ).statusCode,
      ).toBe(201);
      const request = await call('POST', '/v1/dsr/requests', {
        client_number: clientNumber,
        kind: 'erase',
        received_via: 'email',
      });
      expect(request.statusCode).toBe(201);
      const id = (request.json() as { id: number }).id;
      expect(
        (await call('POST', `/v1/dsr/requests/${id}/identity-check`, { checked_by: 'support.anna' }))
          .statusCode,
      ).toBe(200);

      // released together: both run on their own pooled connections
      const [erase, recreate] = await Promise.all([
        call('POST', `/v1/dsr/requests/${id}/execute`, {}),
        call('PUT', `/v1/recipients/${clientNumber}`, { first_name: 'Ilze', email: `ilze${i}@example.lv` }),
      ]);
      expect(erase.statusCode, erase.body).toBe(200);
      // either the update ran first (200) and was erased with the person, or it came after and was refused
      expect([200, 409]).toContain(recreate.statusCode);
      outcomes.add(recreate.statusCode);

      const alive = await api.deps.db
        .selectFrom('recipients')
        .select('id')
        .where('client_number', '=', clientNumber)
        .execute();
      expect(alive, `iteration ${i}`).toEqual([]);
    }
    expect(outcomes.size).toBeGreaterThan(0);
  });
});
