import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM } from '../../../src/auth/actor.js';
import { recordConsentChanges } from '../../../src/consent/ledger.js';
import { signLink } from '../../../src/links/tokens.js';
import { NOTICE_VERSION } from '../../support/fixtures.js';
import { createTestApp, type TestApp } from '../../support/test-app.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';
import {
  APP_OVERRIDES,
  consentOf,
  countRows,
  eventsOf,
  messageOf,
  OLD_KEY,
  oldKeyToken,
  seedRun,
  token,
} from './setup.js';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const ONE_CLICK = 'List-Unsubscribe=One-Click';
const DAY = 24 * 3600;
const now = (): number => Math.floor(Date.now() / 1000);

/**
 * Issue 12, "one-click always withdraws" (N12, N13): a mail provider takes any 200 to an RFC 8058
 * POST as done, so a POST with a token that verifies (current or retired key, any age) withdraws, and
 * the answer is what the consent state reads afterwards. A tampered token answers 400, changing nothing.
 */
describe('one-click unsubscribe always withdraws (N12, N13)', () => {
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

  const oneClick = (tok: string) =>
    api.app.inject({ method: 'POST', url: `/u/${tok}`, headers: FORM, payload: ONE_CLICK });

  /** The newest ledger row of the person's purpose x channel. */
  const lastLedgerRow = (recipientId: number) =>
    api.deps.db
      .selectFrom('consent_events')
      .select(['purpose', 'channel', 'action', 'source', 'reason'])
      .where('recipient_id', '=', recipientId)
      .where('purpose', '=', 'service_offers')
      .where('channel', '=', 'email')
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();

  const ledgerCounts = () =>
    Promise.all([
      countRows(api, 'consent_events'),
      countRows(api, 'message_events'),
      countRows(api, 'audit_log'),
    ]);

  it('a one-click POST with a 91-day-old token withdraws, and the ledger records it from the link', async () => {
    const m = await messageOf(api, runId, 'P2', 'email');
    expect(await consentOf(api, m.recipient_id, 'service_offers', 'email')).toBe('granted');
    const before = await countRows(api, 'consent_events');

    const reply = await oneClick(token(api, 'unsubscribe', m.id, now() - 91 * DAY));

    expect(reply.statusCode).toBe(200);
    expect(reply.headers['content-type']).toContain('text/html');
    expect(reply.body).not.toContain('<form');
    expect(await consentOf(api, m.recipient_id, 'service_offers', 'email')).toBe('withdrawn');
    expect(await lastLedgerRow(m.recipient_id)).toEqual({
      purpose: 'service_offers',
      channel: 'email',
      action: 'withdraw',
      source: 'unsubscribe_link',
      reason: 'unsubscribe_link',
    });
    expect(await countRows(api, 'consent_events')).toBe(before + 1);
    expect(await eventsOf(api, m.id)).toEqual(['unsubscribed']);
  });

  it('a one-click POST with a token signed by a retired key withdraws', async () => {
    const m = await messageOf(api, runId, 'P3', 'email');
    expect(await consentOf(api, m.recipient_id, 'service_offers', 'email')).toBe('granted');

    const reply = await oneClick(oldKeyToken('unsubscribe', m.id));

    expect(reply.statusCode).toBe(200);
    expect(await consentOf(api, m.recipient_id, 'service_offers', 'email')).toBe('withdrawn');
    expect(await lastLedgerRow(m.recipient_id)).toMatchObject({
      action: 'withdraw',
      source: 'unsubscribe_link',
    });
    expect(await eventsOf(api, m.id)).toEqual(['unsubscribed']);
  });

  it('the same one-click POST twice records one withdrawal, and both answers say unsubscribed', async () => {
    const m = await messageOf(api, runId, 'P15', 'email'); // locale lv
    const old = signLink(
      { current: OLD_KEY, previous: [] },
      { kind: 'unsubscribe', messageId: m.id, iat: now() - 200 * DAY },
    );
    const before = await ledgerCounts();

    const first = await oneClick(old);
    const second = await oneClick(old);

    for (const reply of [first, second]) {
      expect(reply.statusCode).toBe(200);
      expect(reply.body).toContain('Jūs esat atteicies no šāda veida ziņām šajā kanālā.');
    }
    // one ledger event, one `unsubscribed` event, one audit entry
    expect(await ledgerCounts()).toEqual([before[0] + 1, before[1] + 1, before[2] + 1]);
    expect(await consentOf(api, m.recipient_id, 'service_offers', 'email')).toBe('withdrawn');
  });

  it("the page's own confirm form withdraws with a 91-day-old token", async () => {
    const m = await messageOf(api, runId, 'P6', 'email');
    const reply = await api.app.inject({
      method: 'POST',
      url: `/u/${token(api, 'unsubscribe', m.id, now() - 91 * DAY)}`,
      headers: FORM,
      payload: 'scope=this&lang=en',
    });
    expect(reply.statusCode).toBe(200);
    expect(reply.body).toContain('You have unsubscribed from this kind of message on this channel.');
    expect(await consentOf(api, m.recipient_id, 'service_offers', 'email')).toBe('withdrawn');
    expect(await lastLedgerRow(m.recipient_id)).toMatchObject({ source: 'unsubscribe_link' });
  });

  it('a tampered token (a flipped signature character, an unknown key id) answers 400 and records nothing', async () => {
    const m = await messageOf(api, runId, 'P7', 'email');
    const flip = (tok: string): string => {
      const [kid, body, sig] = tok.split('.') as [string, string, string];
      const i = Math.floor(sig.length / 2);
      return `${kid}.${body}.${sig.slice(0, i)}${sig[i] === 'A' ? 'B' : 'A'}${sig.slice(i + 1)}`;
    };
    const unknownKey = signLink(
      { current: { id: 'k9', secret: 'never-configured-signing-secret-0123456789' }, previous: [] },
      { kind: 'unsubscribe', messageId: m.id, iat: now() },
    );
    const bad = [
      flip(token(api, 'unsubscribe', m.id)),
      flip(token(api, 'unsubscribe', m.id, now() - 91 * DAY)),
      flip(oldKeyToken('unsubscribe', m.id)),
      unknownKey,
    ];
    const before = await ledgerCounts();

    for (const tok of bad) {
      const reply = await oneClick(tok);
      expect(reply.statusCode).toBe(400);
      expect(reply.body).toContain('Nekas netika mainīts');
      const form = await api.app.inject({
        method: 'POST',
        url: `/u/${tok}`,
        headers: FORM,
        payload: 'scope=all',
      });
      expect(form.statusCode).toBe(400);
    }

    expect(await ledgerCounts()).toEqual(before);
    expect(await eventsOf(api, m.id)).toEqual([]);
    expect(await consentOf(api, m.recipient_id, 'service_offers', 'email')).toBe('granted');
  });

  it('when the grant came from a client whose clock runs two minutes fast, a one-click a moment later still withdraws and says so', async () => {
    const m = await messageOf(api, runId, 'P9', 'email'); // locale lv
    // The app granted with a clock 2 minutes fast. A change takes effect at the earlier of when it
    // happened and when it was recorded (docs/data-model.md), so that grant counts from now, and the
    // withdrawal recorded after it wins (issue 12).
    await api.deps.db.transaction().execute((trx) =>
      recordConsentChanges(trx, api.config.pseudonymSecret, {
        recipientId: m.recipient_id,
        changes: [
          {
            purpose: 'service_offers',
            channel: 'email',
            action: 'grant',
            occurredAt: new Date(Date.now() + 120_000),
          },
        ],
        source: 'app',
        actor: SYSTEM,
        noticeVersion: NOTICE_VERSION,
        evidence: {},
      }),
    );

    const reply = await oneClick(token(api, 'unsubscribe', m.id));

    expect(reply.statusCode).toBe(200);
    expect(await consentOf(api, m.recipient_id, 'service_offers', 'email')).toBe('withdrawn');
  });
});
