import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../support/test-app.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';
import { eventsOf, messageOf, seedRun, signedTwilioPost } from './setup.js';

describe('Twilio status callbacks move SMS messages on (N8)', () => {
  let t: TestDatabase;
  let api: TestApp;
  let runId: number;

  beforeAll(async () => {
    t = await createTestDatabase();
    api = await createTestApp(t);
    runId = await seedRun(api);
  });
  afterAll(async () => {
    await api.close();
    await t.drop();
  });

  /** The person's SMS message, as the worker leaves it after Twilio accepted it. */
  async function sentSms(client: string, sid: string) {
    const m = await messageOf(api, runId, client, 'sms');
    await api.deps.db
      .updateTable('messages')
      .set({ status: 'sent', provider_message_id: sid, sent_at: new Date(), finished_at: new Date() })
      .where('id', '=', m.id)
      .execute();
    return m;
  }

  async function callback(sid: string, status: string, errorCode?: string) {
    const reply = await signedTwilioPost(api, '/webhooks/twilio/status', {
      MessageSid: sid,
      MessageStatus: status,
      ...(errorCode === undefined ? {} : { ErrorCode: errorCode }),
    });
    expect(reply.statusCode).toBe(204);
  }

  const state = (id: number) =>
    api.deps.db
      .selectFrom('messages')
      .select(['status', 'delivered_at', 'error_code'])
      .where('id', '=', id)
      .executeTakeFirstOrThrow();

  const suppressionOf = async (recipientId: number) => {
    const row = await api.deps.db
      .selectFrom('suppressions as s')
      .innerJoin('recipients as r', 'r.phone_hash', 's.address_hash')
      .select(['s.channel', 's.reason'])
      .where('r.id', '=', recipientId)
      .executeTakeFirst();
    return row;
  };

  it('delivered moves sent → delivered; late sent and failed callbacks never move it back', async () => {
    const m = await sentSms('P4', 'SM-st-4');
    await callback('SM-st-4', 'sent');
    expect(await state(m.id)).toMatchObject({ status: 'sent', delivered_at: null });
    await callback('SM-st-4', 'delivered');
    const delivered = await state(m.id);
    expect(delivered.status).toBe('sent');
    expect(delivered.delivered_at).toBeInstanceOf(Date);
    // out of order: a failure reported after the delivery, then the earlier "sent" again
    await callback('SM-st-4', 'failed', '30005');
    await callback('SM-st-4', 'sent');
    expect(await state(m.id)).toEqual(delivered);
    expect(await suppressionOf(m.recipient_id)).toBeUndefined();
    // both carrier reports stay on record as events
    expect(await eventsOf(api, m.id)).toEqual(['delivered', 'failed']);
  });

  it('undelivered with a temporary carrier error (30003) fails the message with its code and suppresses nothing; a late delivered does not revive it', async () => {
    const m = await sentSms('P8', 'SM-st-8');
    await callback('SM-st-8', 'undelivered', '30003');
    expect(await state(m.id)).toEqual({ status: 'failed', delivered_at: null, error_code: '30003' });
    await callback('SM-st-8', 'delivered');
    expect(await state(m.id)).toEqual({ status: 'failed', delivered_at: null, error_code: '30003' });
    expect(await suppressionOf(m.recipient_id)).toBeUndefined();
    expect(await eventsOf(api, m.id)).toEqual(['undelivered', 'delivered']);
  });

  it('an unknown handset (30005), a landline (30006) or an invalid number (21614) fails the message and suppresses the number like an invalid number at send time', async () => {
    for (const [client, code] of [
      ['P12', '30005'],
      ['P16', '30006'],
      ['P20', '21614'],
    ] as const) {
      const sid = `SM-st-${client}`;
      const m = await sentSms(client, sid);
      await callback(sid, 'failed', code);
      expect(await state(m.id), client).toEqual({ status: 'failed', delivered_at: null, error_code: code });
      expect(await suppressionOf(m.recipient_id), client).toEqual({
        channel: 'sms',
        reason: 'invalid_number',
      });
      // repeated callbacks change nothing more
      await callback(sid, 'failed', code);
      expect(await eventsOf(api, m.id)).toEqual(['failed']);
    }
  });

  it('a failed callback without an error code fails the message with its status as the code', async () => {
    const m = await sentSms('P24', 'SM-st-24');
    await callback('SM-st-24', 'failed');
    expect(await state(m.id)).toEqual({ status: 'failed', delivered_at: null, error_code: 'failed' });
    expect(await suppressionOf(m.recipient_id)).toBeUndefined();
  });
});
