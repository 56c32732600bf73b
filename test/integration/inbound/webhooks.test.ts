import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyedHash } from '../../../src/crypto/pseudonym.js';
import { createTestApp, type TestApp } from '../../support/test-app.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';
import {
  change,
  consentOf,
  countRows,
  eventsOf,
  messageOf,
  personalValues,
  seedRun,
  signedTwilioPost,
} from './setup.js';

describe('Twilio webhooks and e-mail bounces (N8, N12, N16)', () => {
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

  const twilioPost = (path: string, params: Record<string, string>, signature?: string) =>
    signedTwilioPost(api, path, params, signature);

  const ledgerSnapshot = () =>
    Promise.all([
      countRows(api, 'consent_events'),
      countRows(api, 'message_events'),
      countRows(api, 'audit_log'),
    ]);

  it('refuses unsigned and wrongly signed webhooks with 403 and changes nothing', async () => {
    const sms = await messageOf(api, runId, 'P4', 'sms');
    await api.deps.db
      .updateTable('messages')
      .set({ status: 'sent', provider_message_id: 'SM-forged-1' })
      .where('id', '=', sms.id)
      .execute();
    const before = await ledgerSnapshot();
    const stop = { From: sms.phone ?? '', Body: 'STOP', MessageSid: 'SM-in-1' };
    const status = { MessageSid: 'SM-forged-1', MessageStatus: 'delivered' };
    const wrongToken = twilio.getExpectedTwilioSignature(
      'not-the-auth-token',
      `${api.config.http.publicBaseUrl}/webhooks/twilio/inbound`,
      stop,
    );
    const otherUrl = twilio.getExpectedTwilioSignature(
      api.config.sms?.authToken ?? '',
      'https://attacker.example/webhooks/twilio/inbound',
      stop,
    );
    for (const reply of [
      await twilioPost('/webhooks/twilio/inbound', stop, ''),
      await twilioPost('/webhooks/twilio/inbound', stop, wrongToken),
      await twilioPost('/webhooks/twilio/inbound', stop, otherUrl),
      await twilioPost('/webhooks/twilio/status', status, ''),
      await twilioPost('/webhooks/twilio/status', status, 'bm90LWEtc2lnbmF0dXJl'),
    ]) {
      expect(reply.statusCode).toBe(403);
    }
    // a signature over other parameters does not cover these
    const signedForOther = twilio.getExpectedTwilioSignature(
      api.config.sms?.authToken ?? '',
      `${api.config.http.publicBaseUrl}/webhooks/twilio/inbound`,
      { ...stop, Body: 'hello' },
    );
    expect((await twilioPost('/webhooks/twilio/inbound', stop, signedForOther)).statusCode).toBe(403);
    expect(await ledgerSnapshot()).toEqual(before);
    expect(await consentOf(api, sms.recipient_id, 'service_offers', 'sms')).toBe('granted');
  });

  it('records delivery status callbacks for the message with that provider id, once', async () => {
    const sms = await messageOf(api, runId, 'P8', 'sms');
    await api.deps.db
      .updateTable('messages')
      .set({ status: 'sent', provider_message_id: 'SM-status-8' })
      .where('id', '=', sms.id)
      .execute();
    for (const s of ['sent', 'delivered', 'delivered']) {
      const reply = await twilioPost('/webhooks/twilio/status', {
        MessageSid: 'SM-status-8',
        MessageStatus: s,
      });
      expect(reply.statusCode).toBe(204);
    }
    expect(await eventsOf(api, sms.id)).toEqual(['delivered']);
    const unknown = await twilioPost('/webhooks/twilio/status', {
      MessageSid: 'SM-nope',
      MessageStatus: 'failed',
    });
    expect(unknown.statusCode).toBe(204);
  });

  it('STOP withdraws all SMS consent (source sms_keyword); START re-grants exactly what STOP withdrew', async () => {
    const sms = await messageOf(api, runId, 'P4', 'sms');
    const person = sms.recipient_id;
    await change(api, person, [
      { purpose: 'partner_offers', channel: 'sms', action: 'grant' },
      { purpose: 'contests', channel: 'sms', action: 'grant' },
    ]);
    // withdrawn by the person in the app earlier: START must not bring it back
    await change(api, person, [{ purpose: 'contests', channel: 'sms', action: 'withdraw' }]);
    const phone = sms.phone ?? '';

    const stop = await twilioPost('/webhooks/twilio/inbound', {
      From: phone,
      Body: '  atteikt ',
      MessageSid: 'SM-in-2',
    });
    expect(stop.statusCode).toBe(200);
    expect(stop.headers['content-type']).toContain('text/xml');
    expect(stop.body).toContain('<Response/>');
    for (const purpose of ['service_offers', 'partner_offers', 'contests'] as const) {
      expect(await consentOf(api, person, purpose, 'sms')).toBe('withdrawn');
    }
    expect(await consentOf(api, person, 'service_offers', 'email')).toBe('granted');
    const stops = await api.deps.db
      .selectFrom('consent_events')
      .select(['purpose', 'action', 'source'])
      .where('recipient_id', '=', person)
      .where('source', '=', 'sms_keyword')
      .orderBy('purpose')
      .execute();
    expect(stops).toEqual([
      { purpose: 'partner_offers', action: 'withdraw', source: 'sms_keyword' },
      { purpose: 'service_offers', action: 'withdraw', source: 'sms_keyword' },
    ]);

    // a second STOP records nothing new
    const events = await countRows(api, 'consent_events');
    await twilioPost('/webhooks/twilio/inbound', { From: phone, Body: 'Stop', MessageSid: 'SM-in-3' });
    expect(await countRows(api, 'consent_events')).toBe(events);

    const start = await twilioPost('/webhooks/twilio/inbound', {
      From: phone,
      Body: 'START',
      MessageSid: 'SM-in-4',
    });
    expect(start.statusCode).toBe(200);
    expect(await consentOf(api, person, 'service_offers', 'sms')).toBe('granted');
    expect(await consentOf(api, person, 'partner_offers', 'sms')).toBe('granted');
    expect(await consentOf(api, person, 'contests', 'sms')).toBe('withdrawn');
    const grants = await api.deps.db
      .selectFrom('consent_events')
      .select(['purpose', 'source', 'notice_version'])
      .where('recipient_id', '=', person)
      .where('action', '=', 'grant')
      .where('source', '=', 'sms_keyword')
      .orderBy('purpose')
      .execute();
    expect(grants).toEqual([
      { purpose: 'partner_offers', source: 'sms_keyword', notice_version: '2022-03-01' },
      { purpose: 'service_offers', source: 'sms_keyword', notice_version: '2022-03-01' },
    ]);
    const audits = await api.deps.db
      .selectFrom('audit_log')
      .select('action')
      .where('recipient_id', '=', person)
      .orderBy('id')
      .execute();
    expect(audits.map((a) => a.action)).toEqual(['consent.withdraw', 'consent.grant']);
    expect(await eventsOf(api, sms.id)).toContain('replied');
  });

  it('answers unknown numbers and ordinary texts with empty TwiML and changes nothing', async () => {
    const before = await ledgerSnapshot();
    const unknown = await twilioPost('/webhooks/twilio/inbound', { From: '+37129999999', Body: 'STOP' });
    expect(unknown.statusCode).toBe(200);
    expect(unknown.body).toContain('<Response/>');
    const sms = await messageOf(api, runId, 'P12', 'sms');
    const chat = await twilioPost('/webhooks/twilio/inbound', {
      From: sms.phone ?? '',
      Body: 'please stop it',
    });
    expect(chat.statusCode).toBe(200);
    expect(await ledgerSnapshot()).toEqual(before);
  });

  it('suppresses a hard bounce; a complaint suppresses and withdraws all e-mail consent; needs scope ops', async () => {
    const ops = await api.key(['ops']);
    const other = await api.key(['consents:write']);
    const m = await messageOf(api, runId, 'P21', 'email');
    const hash = keyedHash(api.config.pseudonymSecret, 'email', (m.email ?? '').toLowerCase());

    const noKey = await api.app.inject({
      method: 'POST',
      url: '/webhooks/bounces',
      payload: { type: 'hard_bounce', message_id: m.id },
    });
    expect(noKey.statusCode).toBe(401);
    const wrongScope = await api.app.inject({
      method: 'POST',
      url: '/webhooks/bounces',
      headers: { authorization: `Bearer ${other}` },
      payload: { type: 'hard_bounce', message_id: m.id },
    });
    expect(wrongScope.statusCode).toBe(403);
    const neither = await api.app.inject({
      method: 'POST',
      url: '/webhooks/bounces',
      headers: { authorization: `Bearer ${ops}` },
      payload: { type: 'hard_bounce' },
    });
    expect(neither.statusCode).toBe(400);

    const hard = await api.app.inject({
      method: 'POST',
      url: '/webhooks/bounces',
      headers: { authorization: `Bearer ${ops}` },
      payload: { type: 'hard_bounce', message_id: m.id, email: (m.email ?? '').toUpperCase() },
    });
    expect(hard.statusCode).toBe(200);
    expect(hard.json()).toEqual({
      suppressed: true,
      withdrawn: 0,
      event_recorded: true,
      recipient_found: true,
    });
    const rows = await api.deps.db
      .selectFrom('suppressions')
      .selectAll()
      .where('address_hash', '=', hash)
      .execute();
    expect(rows).toMatchObject([{ channel: 'email', reason: 'hard_bounce' }]);
    expect(await consentOf(api, m.recipient_id, 'service_offers', 'email')).toBe('granted');

    const c = await messageOf(api, runId, 'P23', 'email');
    await change(api, c.recipient_id, [{ purpose: 'feedback', channel: 'email', action: 'grant' }]);
    const complaint = await api.app.inject({
      method: 'POST',
      url: '/webhooks/bounces',
      headers: { authorization: `Bearer ${ops}` },
      payload: { type: 'complaint', email: c.email ?? '' },
    });
    expect(complaint.statusCode).toBe(200);
    expect(complaint.json()).toMatchObject({ suppressed: true, withdrawn: 2, recipient_found: true });
    expect(await consentOf(api, c.recipient_id, 'service_offers', 'email')).toBe('withdrawn');
    expect(await consentOf(api, c.recipient_id, 'feedback', 'email')).toBe('withdrawn');
    const withdrawals = await api.deps.db
      .selectFrom('consent_events')
      .select(['source', 'reason'])
      .where('recipient_id', '=', c.recipient_id)
      .where('action', '=', 'withdraw')
      .execute();
    expect(withdrawals).toEqual([
      { source: 'operator', reason: 'complaint' },
      { source: 'operator', reason: 'complaint' },
    ]);

    const withMessage = await api.app.inject({
      method: 'POST',
      url: '/webhooks/bounces',
      headers: { authorization: `Bearer ${ops}` },
      payload: { type: 'complaint', message_id: c.id },
    });
    expect(withMessage.json()).toMatchObject({ withdrawn: 0, event_recorded: true });
    expect(await eventsOf(api, c.id)).toEqual(['complained']);
  });

  it('writes no personal data to the logs', async () => {
    const text = api.logs.join('');
    expect(text).toContain('"route":"/webhooks/twilio/inbound"');
    for (const value of await personalValues(api)) expect(text).not.toContain(value);
    expect(text).not.toContain('+37129999999');
  });
});
