import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../support/test-app.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';
import {
  APP_OVERRIDES,
  consentOf,
  countRows,
  eventsOf,
  messageOf,
  oldKeyToken,
  personalValues,
  seedRun,
  token,
} from './setup.js';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

describe('unsubscribe links, click and open tracking (N8, N12, N13)', () => {
  let t: TestDatabase;
  let api: TestApp;
  let runId: number;

  beforeAll(async () => {
    t = await createTestDatabase();
    api = await createTestApp(t, APP_OVERRIDES);
    runId = await seedRun(api);
  });
  afterAll(async () => {
    await api.close();
    await t.drop();
  });

  it('renders the page in Latvian for a Latvian-speaking person, with purpose, channel and the controller (N2)', async () => {
    const m = await messageOf(api, runId, 'P12', 'email'); // locale lv
    const reply = await api.app.inject({ method: 'GET', url: `/u/${token(api, 'unsubscribe', m.id)}` });
    expect(reply.statusCode).toBe(200);
    expect(reply.headers['content-type']).toContain('text/html');
    expect(reply.body).toContain('<html lang="lv">');
    expect(reply.body).toContain('Klix pakalpojumi un ar tiem saistīti piedāvājumi');
    expect(reply.body).toContain('e-pasts');
    expect(reply.body).toContain('Atteikties no visām ziņām');
    expect(reply.body).toContain('40103303559');
    expect(reply.body).toContain('gdpr@citadele.lv');
    expect(reply.body).toContain('Citadele banka');
  });

  it('renders it in English for an English-speaking person, and honours ?lang=', async () => {
    const m = await messageOf(api, runId, 'P4', 'sms'); // locale en
    const tok = token(api, 'unsubscribe', m.id);
    const en = await api.app.inject({ method: 'GET', url: `/u/${tok}` });
    expect(en.statusCode).toBe(200);
    expect(en.body).toContain('<html lang="en">');
    expect(en.body).toContain('Klix services and related offers');
    expect(en.body).toContain('SMS');
    expect(en.body).toContain('support@klix.app');
    const lv = await api.app.inject({ method: 'GET', url: `/u/${tok}?lang=lv` });
    expect(lv.body).toContain('<html lang="lv">');
  });

  it('one-click POST withdraws only that purpose x channel, answers 200 with the done page, and is idempotent', async () => {
    const m = await messageOf(api, runId, 'P12', 'email');
    expect(await consentOf(api, m.recipient_id, 'service_offers', 'email')).toBe('granted');
    expect(await consentOf(api, m.recipient_id, 'service_offers', 'sms')).toBe('granted');
    const url = `/u/${token(api, 'unsubscribe', m.id)}`;
    const before = await countRows(api, 'consent_events');
    const reply = await api.app.inject({
      method: 'POST',
      url,
      headers: FORM,
      payload: 'List-Unsubscribe=One-Click',
    });
    expect(reply.statusCode).toBe(200);
    expect(reply.body).toContain('Jūs esat atteicies no šāda veida ziņām šajā kanālā.');
    expect(await consentOf(api, m.recipient_id, 'service_offers', 'email')).toBe('withdrawn');
    expect(await consentOf(api, m.recipient_id, 'service_offers', 'sms')).toBe('granted');
    const events = await api.deps.db
      .selectFrom('consent_events')
      .select(['purpose', 'channel', 'action', 'source'])
      .where('recipient_id', '=', m.recipient_id)
      .where('id', '>', 0)
      .orderBy('id', 'desc')
      .limit(1)
      .execute();
    expect(events).toEqual([
      { purpose: 'service_offers', channel: 'email', action: 'withdraw', source: 'unsubscribe_link' },
    ]);
    expect(await countRows(api, 'consent_events')).toBe(before + 1);
    expect(await eventsOf(api, m.id)).toContain('unsubscribed');
    const audits = await api.deps.db
      .selectFrom('audit_log')
      .select(['action', 'actor_type'])
      .where('recipient_id', '=', m.recipient_id)
      .execute();
    expect(audits).toContainEqual({ action: 'consent.withdraw', actor_type: 'data_subject' });

    const again = await api.app.inject({
      method: 'POST',
      url,
      headers: FORM,
      payload: 'List-Unsubscribe=One-Click',
    });
    expect(again.statusCode).toBe(200);
    expect(await countRows(api, 'consent_events')).toBe(before + 1);
    expect((await eventsOf(api, m.id)).filter((e) => e === 'unsubscribed')).toHaveLength(1);
  });

  it('the page form withdraws everything when asked', async () => {
    const m = await messageOf(api, runId, 'P8', 'sms');
    const reply = await api.app.inject({
      method: 'POST',
      url: `/u/${token(api, 'unsubscribe', m.id)}`,
      headers: FORM,
      payload: 'scope=all&lang=en',
    });
    expect(reply.statusCode).toBe(200);
    expect(reply.body).toContain('You have unsubscribed from all');
    const live = await api.deps.db
      .selectFrom('consents')
      .select('channel')
      .where('recipient_id', '=', m.recipient_id)
      .where('status', '=', 'granted')
      .execute();
    expect(live).toEqual([]);
  });

  it('a tampered or malformed token gets a 400 page and changes nothing', async () => {
    const m = await messageOf(api, runId, 'P16', 'email');
    const good = token(api, 'unsubscribe', m.id);
    const [kid, body, sig] = good.split('.') as [string, string, string];
    const forged = `${kid}.${Buffer.from(`u:${m.id + 1}:${Math.floor(Date.now() / 1000)}`).toString('base64url')}.${sig}`;
    const flipped = `${kid}.${body}.${sig.slice(0, -1)}${sig.endsWith('A') ? 'B' : 'A'}`;
    const before = await Promise.all([countRows(api, 'consent_events'), countRows(api, 'message_events')]);
    for (const bad of [forged, flipped, 'not-a-token', `${kid}.${body}`]) {
      const get = await api.app.inject({ method: 'GET', url: `/u/${bad}` });
      expect(get.statusCode).toBe(400);
      expect(get.body).toContain('Nekas netika mainīts');
      const post = await api.app.inject({
        method: 'POST',
        url: `/u/${bad}`,
        headers: FORM,
        payload: 'List-Unsubscribe=One-Click',
      });
      expect(post.statusCode).toBe(400);
    }
    // a click token is not an unsubscribe token
    const wrongKind = await api.app.inject({ method: 'GET', url: `/u/${token(api, 'click', m.id)}` });
    expect(wrongKind.statusCode).toBe(400);
    expect(await Promise.all([countRows(api, 'consent_events'), countRows(api, 'message_events')])).toEqual(
      before,
    );
    expect(await consentOf(api, m.recipient_id, 'service_offers', 'email')).toBe('granted');
  });

  it('a token signed with a retired key, or an old one, opens the page with a note that the link is old (N12)', async () => {
    const m = await messageOf(api, runId, 'P16', 'email'); // locale en
    const retired = oldKeyToken('unsubscribe', m.id);
    const aged = token(api, 'unsubscribe', m.id, Math.floor(Date.now() / 1000) - 200 * 24 * 3600);
    for (const tok of [retired, aged]) {
      const page = await api.app.inject({ method: 'GET', url: `/u/${tok}` });
      expect(page.statusCode).toBe(200);
      expect(page.body).toContain('This link is old.');
      expect(page.body).toContain('<form method="post"');
    }
    const fresh = await api.app.inject({ method: 'GET', url: `/u/${token(api, 'unsubscribe', m.id)}` });
    expect(fresh.body).not.toContain('This link is old.');
    // a GET changes nothing; the POSTs are in one-click.test.ts
    expect(await consentOf(api, m.recipient_id, 'service_offers', 'email')).toBe('granted');
  });

  it('records clicks (302 to the landing page) and opens (1x1 GIF); tampered tokens record nothing', async () => {
    const m = await messageOf(api, runId, 'P21', 'email');
    const click = await api.app.inject({ method: 'GET', url: `/c/${token(api, 'click', m.id)}` });
    expect(click.statusCode).toBe(302);
    expect(click.headers.location).toBe(`${api.config.http.publicBaseUrl}/`);
    const open = await api.app.inject({ method: 'GET', url: `/o/${token(api, 'open', m.id)}` });
    expect(open.statusCode).toBe(200);
    expect(open.headers['content-type']).toBe('image/gif');
    expect(open.rawPayload.subarray(0, 6).toString()).toBe('GIF89a');
    expect(await eventsOf(api, m.id)).toEqual(['clicked', 'opened']);

    const before = await countRows(api, 'message_events');
    const tampered = `${token(api, 'click', m.id).slice(0, -2)}xx`;
    expect((await api.app.inject({ method: 'GET', url: `/c/${tampered}` })).statusCode).toBe(400);
    expect((await api.app.inject({ method: 'GET', url: `/o/${token(api, 'click', m.id)}` })).statusCode).toBe(
      400,
    );
    expect(await countRows(api, 'message_events')).toBe(before);
  });

  it('writes no personal data and no tokens to the logs', async () => {
    const text = api.logs.join('');
    expect(text).toContain('"route":"/u/:token"');
    for (const value of await personalValues(api)) expect(text).not.toContain(value);
    const m = await messageOf(api, runId, 'P12', 'email');
    expect(text).not.toContain(token(api, 'unsubscribe', m.id).split('.')[2]);
  });
});
