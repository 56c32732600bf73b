import { sql } from 'kysely';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOTICE_VERSION, seedNotice } from '../../support/fixtures.js';
import { waitFor } from '../../support/process.js';
import { createTestApp, type TestApp } from '../../support/test-app.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';

/**
 * Every writer of the ledger locks the person before the consent rows: the ledger's own statement
 * (FOR SHARE), the import (FOR UPDATE, src/import/merge-sql.ts), an erasure (FOR UPDATE). Ending
 * every grant in force (unsubscribe, STOP, complaints, the operator's withdrawal) used to lock the
 * consent rows first and the person second, so it could deadlock with an import of the same person.
 */
describe('ending every grant in force beside a writer that holds the person', () => {
  let t: TestDatabase;
  let api: TestApp;

  beforeAll(async () => {
    t = await createTestDatabase();
    api = await createTestApp(t);
    await seedNotice(api.deps.db);
  });
  afterAll(async () => {
    await api.close();
    await t.drop();
  });

  it('waits for the person before it locks any consent row, so the other writer finishes and the STOP then withdraws', async () => {
    const key = await api.key(['recipients:write', 'consents:write']);
    const phone = '+37120000001';
    expect(
      (
        await api.app.inject({
          method: 'PUT',
          url: '/v1/recipients/LOCK-1',
          headers: { authorization: `Bearer ${key}` },
          payload: { phone },
        })
      ).statusCode,
    ).toBe(201);
    const granted = await api.app.inject({
      method: 'POST',
      url: '/v1/recipients/LOCK-1/consents',
      headers: { authorization: `Bearer ${key}`, 'idempotency-key': 'lock-order-1' },
      payload: {
        source: 'app',
        notice_version: NOTICE_VERSION,
        changes: [{ purpose: 'service_offers', channel: 'sms', action: 'grant' }],
      },
    });
    expect(granted.statusCode, granted.body).toBe(201);
    const { id } = await api.deps.db
      .selectFrom('recipients')
      .select('id')
      .where('client_number', '=', 'LOCK-1')
      .executeTakeFirstOrThrow();

    // the other writer (as an import batch does): the person first
    const other = await t.pool.connect();
    try {
      await other.query('BEGIN');
      await other.query('SELECT id FROM recipients WHERE id = $1 FOR UPDATE', [id]);

      const params = { From: phone, Body: 'STOP', MessageSid: 'SM-lock-1' };
      const url = `${api.config.http.publicBaseUrl}/webhooks/twilio/inbound`;
      const stop = api.app.inject({
        method: 'POST',
        url: '/webhooks/twilio/inbound',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-twilio-signature': twilio.getExpectedTwilioSignature(
            api.config.sms?.authToken ?? '',
            url,
            params,
          ),
        },
        payload: new URLSearchParams(params).toString(),
      });
      await waitFor('the STOP to wait for the person', async () => {
        const { rows } = await sql<{ n: number }>`
          SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND wait_event_type = 'Lock'
        `.execute(api.deps.db);
        return (rows[0]?.n ?? 0) > 0;
      });
      // then its consent rows (as the batch's upsert does): not locked by the waiting STOP
      await other.query(
        "UPDATE consents SET updated_at = now() WHERE recipient_id = $1 AND channel = 'sms'",
        [id],
      );
      await other.query('COMMIT');

      expect((await stop).statusCode).toBe(200);
    } finally {
      other.release();
    }
    const state = await api.deps.db
      .selectFrom('consents')
      .select(['status', 'source'])
      .where('recipient_id', '=', id)
      .execute();
    expect(state).toEqual([{ status: 'withdrawn', source: 'sms_keyword' }]);
  });
});
