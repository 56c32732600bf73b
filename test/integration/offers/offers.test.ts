import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../../src/auth/actor.js';
import {
  activateOffer,
  archiveOffer,
  createOffer,
  getOffer,
  listOffers,
  updateOffer,
} from '../../../src/offers/offers.js';
import { createTestDatabase, ownerKysely, type TestDatabase } from '../../support/test-db.js';
import { EMAIL_EN, EMAIL_LV, offerInput, PUSH_LV, SMS_LV } from '../../unit/offers/offer-fixture.js';

const ACTOR: Actor = { type: 'api_key', id: 'marketing-ui' };
const who = { actor: ACTOR, requestId: 'req-offers-test' };

describe('offers in PostgreSQL', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(() => t.drop());

  const count = async (table: 'offers' | 'offer_contents' | 'audit_log') =>
    Number(
      (
        await t.db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );

  const auditOf = (subjectId: number) =>
    t.db
      .selectFrom('audit_log')
      .select(['actor_type', 'actor_id', 'action', 'subject_type', 'request_id', 'details'])
      .where('subject_type', '=', 'offer')
      .where('subject_id', '=', String(subjectId))
      .orderBy('id')
      .execute();

  it('stores a new offer as a draft with its contents, and reads it back as given', async () => {
    const created = await createOffer(t.db, offerInput({ key: 'stored-as-given', priority: 7 }), who);
    expect(created.offer).toMatchObject({
      key: 'stored-as-given',
      status: 'draft',
      priority: 7,
      owner: { kind: 'own' },
      createdBy: 'marketing-ui',
      contents: { email: { lv: EMAIL_LV, en: EMAIL_EN }, sms: { lv: SMS_LV }, push: { lv: PUSH_LV } },
    });
    expect(await getOffer(t.db, 'stored-as-given')).toEqual(created);
    expect(await getOffer(t.db, 'no-such-offer')).toBeUndefined();
  });

  it('answers a save with the encoding and segments of each SMS text, and warns above three', async () => {
    const long = `Klix piedavajums ${'x'.repeat(400)} {{offer_url}}`;
    const created = await createOffer(
      t.db,
      offerInput({ key: 'long-sms', contents: { sms: { lv: { text: long }, en: SMS_LV } } }),
      who,
    );
    expect(created.sms.en?.asWritten).toMatchObject({ encoding: 'GSM-7', segments: 1 });
    expect(created.sms.en?.worstCase).toMatchObject({ encoding: 'UCS-2', segments: 2 });
    expect(created.sms.lv?.asWritten).toMatchObject({ encoding: 'GSM-7', segments: 4 });
    expect(created.warnings).toEqual([
      { field: 'contents/sms/lv/text', message: 'needs up to 4 SMS segments (GSM-7); each is charged' },
    ]);
    expect((await getOffer(t.db, 'long-sms'))?.warnings).toEqual(created.warnings);
  });

  it('audits the creation with names, never content', async () => {
    const { offer } = await createOffer(t.db, offerInput({ key: 'audited-create' }), who);
    const entries = await auditOf(offer.id);
    expect(entries).toEqual([
      {
        actor_type: 'api_key',
        actor_id: 'marketing-ui',
        action: 'offer.create',
        subject_type: 'offer',
        request_id: 'req-offers-test',
        details: {
          key: 'audited-create',
          purpose: 'service_offers',
          owner: 'own',
          personalised: false,
          contents: ['email/en', 'email/lv', 'sms/lv', 'push/lv'],
        },
      },
    ]);
    const text = JSON.stringify(entries);
    for (const content of ['Sveiki', 'Hello', 'piedāvājums', 'href', 'Spring cashback']) {
      expect(text).not.toContain(content);
    }
  });

  it('writes nothing for an invalid offer, and names every invalid field', async () => {
    const before = await Promise.all([count('offers'), count('offer_contents'), count('audit_log')]);
    const input = offerInput({
      key: 'invalid-offer',
      purpose: 'service_offers',
      owner: 'partner',
      partner_name: 'Rimi',
      contents: { email: { lv: { ...EMAIL_LV, text: 'No link here' } }, sms: { en: SMS_LV } },
    });
    await expect(createOffer(t.db, input, who)).rejects.toMatchObject({
      name: 'ValidationError',
      fields: [
        { field: 'purpose', message: "must be partner_offers for a partner's offer (N3)" },
        { field: 'contents/email/lv/text', message: expect.stringContaining('{{unsubscribe_url}}') },
        { field: 'contents/sms/lv', message: expect.stringContaining('fallback locale') },
      ],
    });
    expect(await Promise.all([count('offers'), count('offer_contents'), count('audit_log')])).toEqual(before);
  });

  it('refuses an update whose e-mail HTML is unsafe, naming the part, and leaves the offer as it was', async () => {
    const { offer } = await createOffer(t.db, offerInput({ key: 'unsafe-update' }), who);
    const input = offerInput({
      key: 'unsafe-update',
      contents: {
        email: { lv: { ...EMAIL_LV, html: `<base href="https://evil.example/">${EMAIL_LV.html}` } },
      },
    });
    await expect(updateOffer(t.db, 'unsafe-update', input, who)).rejects.toMatchObject({
      name: 'ValidationError',
      fields: [
        {
          field: 'contents/email/lv/html',
          message: '<base> is not allowed in e-mail HTML (line 1, column 1)',
        },
      ],
    });
    expect((await getOffer(t.db, 'unsafe-update'))?.offer.contents).toEqual(offer.contents);
  });

  it('refuses a second offer with the same key and writes nothing for it', async () => {
    await createOffer(t.db, offerInput({ key: 'taken-key' }), who);
    const before = await Promise.all([count('offers'), count('offer_contents'), count('audit_log')]);
    await expect(
      createOffer(t.db, offerInput({ key: 'taken-key', name: 'Other' }), who),
    ).rejects.toMatchObject({
      name: 'ConflictError',
      code: 'offer_key_taken',
    });
    expect(await Promise.all([count('offers'), count('offer_contents'), count('audit_log')])).toEqual(before);
  });

  it("stores a partner's offer, and the database too refuses one of another purpose (N3)", async () => {
    const { offer } = await createOffer(
      t.db,
      offerInput({ key: 'partner-offer', purpose: 'partner_offers', owner: 'partner', partner_name: 'Rimi' }),
      who,
    );
    expect(offer.owner).toEqual({ kind: 'partner', partnerName: 'Rimi' });
    await expect(
      t.db
        .insertInto('offers')
        .values({
          key: 'partner-bypass',
          name: 'Bypassing validation',
          purpose: 'service_offers',
          owner_kind: 'partner',
          partner_name: 'Rimi',
          created_by: 'test',
        })
        .execute(),
    ).rejects.toMatchObject({ code: '23514', constraint: 'offers_partner_purpose' });
  });

  it('replaces all of the contents in one update and audits which fields changed', async () => {
    const { offer } = await createOffer(t.db, offerInput({ key: 'replaced' }), who);
    const updated = await updateOffer(
      t.db,
      'replaced',
      offerInput({
        key: 'replaced',
        priority: 3,
        fallback_locale: 'en',
        contents: { push: { en: PUSH_LV } },
      }),
      who,
    );
    expect(updated.offer).toMatchObject({
      priority: 3,
      fallbackLocale: 'en',
      contents: { push: { en: PUSH_LV } },
    });
    const rows = await t.db
      .selectFrom('offer_contents')
      .select(['channel', 'locale'])
      .where('offer_id', '=', offer.id)
      .execute();
    expect(rows).toEqual([{ channel: 'push', locale: 'en' }]);
    const entries = await auditOf(offer.id);
    expect(entries.map((e) => e.action)).toEqual(['offer.create', 'offer.update']);
    expect(entries[1]?.details).toEqual({
      key: 'replaced',
      changed: [
        'priority',
        'fallback_locale',
        'contents/email/en',
        'contents/email/lv',
        'contents/push/en',
        'contents/push/lv',
        'contents/sms/lv',
      ],
    });
  });

  it('leaves the offer and all its contents as they were when an update fails half-way', async () => {
    const { offer } = await createOffer(t.db, offerInput({ key: 'atomic-update' }), who);
    const auditBefore = await auditOf(offer.id);
    // The owner makes inserting one particular text fail: the update has deleted the old contents by then.
    const owner = ownerKysely(t.ownerUrl);
    try {
      await sql`
        CREATE FUNCTION test_refuse_marker() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.body LIKE '%REFUSE-ME%' THEN RAISE EXCEPTION 'simulated failure'; END IF;
          RETURN NEW;
        END $$`.execute(owner);
      await sql`CREATE TRIGGER test_refuse_marker BEFORE INSERT ON offer_contents
        FOR EACH ROW EXECUTE FUNCTION test_refuse_marker()`.execute(owner);

      const input = offerInput({
        key: 'atomic-update',
        name: 'Renamed',
        contents: { email: { lv: EMAIL_LV }, sms: { lv: { text: 'REFUSE-ME {{offer_url}}' } } },
      });
      await expect(updateOffer(t.db, 'atomic-update', input, who)).rejects.toThrow('simulated failure');
    } finally {
      await sql`DROP TRIGGER IF EXISTS test_refuse_marker ON offer_contents`.execute(owner);
      await sql`DROP FUNCTION IF EXISTS test_refuse_marker()`.execute(owner);
      await owner.destroy();
    }
    const after = await getOffer(t.db, 'atomic-update');
    expect(after?.offer).toEqual(offer);
    expect(await auditOf(offer.id)).toEqual(auditBefore);
  });

  it('refuses an update that renames the key, and one of an unknown offer', async () => {
    await createOffer(t.db, offerInput({ key: 'fixed-key' }), who);
    await expect(updateOffer(t.db, 'fixed-key', offerInput({ key: 'new-key' }), who)).rejects.toMatchObject({
      name: 'ValidationError',
      fields: [{ field: 'key', message: 'cannot be changed (the offer is fixed-key)' }],
    });
    await expect(updateOffer(t.db, 'ghost', offerInput({ key: 'ghost' }), who)).rejects.toMatchObject({
      name: 'NotFoundError',
    });
  });

  it('writes nothing for an update that changes nothing', async () => {
    const { offer } = await createOffer(t.db, offerInput({ key: 'unchanged' }), who);
    const same = await updateOffer(t.db, 'unchanged', offerInput({ key: 'unchanged' }), who);
    expect(same.offer).toEqual(offer);
    expect((await auditOf(offer.id)).map((e) => e.action)).toEqual(['offer.create']);
  });

  it('activates and archives an offer, auditing each change, and keeps an archived offer as it is', async () => {
    const { offer } = await createOffer(t.db, offerInput({ key: 'lifecycle' }), who);
    expect((await activateOffer(t.db, 'lifecycle', who)).offer.status).toBe('active');
    expect((await activateOffer(t.db, 'lifecycle', who)).offer.status).toBe('active');
    await expect(
      updateOffer(t.db, 'lifecycle', offerInput({ key: 'lifecycle', contents: {} }), who),
    ).rejects.toMatchObject({ name: 'ValidationError', fields: [{ field: 'contents' }] });
    expect((await archiveOffer(t.db, 'lifecycle', who)).offer.status).toBe('archived');
    await expect(activateOffer(t.db, 'lifecycle', who)).rejects.toMatchObject({ code: 'offer_archived' });
    await expect(updateOffer(t.db, 'lifecycle', offerInput({ key: 'lifecycle' }), who)).rejects.toMatchObject(
      {
        code: 'offer_archived',
      },
    );
    const entries = await auditOf(offer.id);
    expect(entries.map((e) => [e.action, e.details])).toEqual([
      ['offer.create', expect.anything()],
      ['offer.activate', { key: 'lifecycle', from: 'draft', to: 'active' }],
      ['offer.archive', { key: 'lifecycle', from: 'active', to: 'archived' }],
    ]);
  });

  it('refuses to activate a draft without content', async () => {
    await createOffer(t.db, offerInput({ key: 'empty-draft', contents: {} }), who);
    await expect(activateOffer(t.db, 'empty-draft', who)).rejects.toMatchObject({
      name: 'ConflictError',
      code: 'offer_without_content',
    });
  });

  it('keeps the purpose of an offer that a campaign names (N3)', async () => {
    const { offer } = await createOffer(t.db, offerInput({ key: 'named-by-campaign' }), who);
    const campaign = await t.db
      .insertInto('campaigns')
      .values({
        name: 'Spring',
        purpose: 'service_offers',
        channels: ['email'],
        offer_mode: 'fixed',
        created_by: 'test',
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await t.db
      .insertInto('campaign_offers')
      .values({ campaign_id: campaign.id, offer_id: offer.id })
      .execute();
    await expect(
      updateOffer(
        t.db,
        'named-by-campaign',
        offerInput({ key: 'named-by-campaign', purpose: 'contests' }),
        who,
      ),
    ).rejects.toMatchObject({ name: 'ConflictError', code: 'offer_in_use' });

    await createOffer(t.db, offerInput({ key: 'free-draft' }), who);
    const moved = await updateOffer(
      t.db,
      'free-draft',
      offerInput({ key: 'free-draft', purpose: 'contests' }),
      who,
    );
    expect(moved.offer.purpose).toBe('contests');
  });

  it('reads a stored rule the rule language no longer accepts as matching nobody, and lets it be fixed', async () => {
    const { offer } = await createOffer(
      t.db,
      offerInput({ key: 'stale-rule', eligibility: { age: { gte: 18 } } }),
      who,
    );
    await t.db
      .updateTable('offers')
      .set({ eligibility: JSON.stringify({ retired_predicate: true }) })
      .where('id', '=', offer.id)
      .execute();

    const stale = await getOffer(t.db, 'stale-rule');
    expect(stale?.offer.eligibility).toEqual({ not: { all: [] } });
    expect(stale?.warnings.map((w) => w.field)).toEqual(['eligibility', 'eligibility']);
    expect((await listOffers(t.db, { limit: 500 })).some((o) => o.key === 'stale-rule')).toBe(true);

    const fixed = await updateOffer(
      t.db,
      'stale-rule',
      offerInput({ key: 'stale-rule', eligibility: null }),
      who,
    );
    expect(fixed.offer.eligibility).toBeNull();
    expect(fixed.warnings).toEqual([]);
  });

  it('lists offers by purpose and status without their templates, page by page', async () => {
    const keys = ['list-a', 'list-b', 'list-c'];
    for (const key of keys) {
      await createOffer(
        t.db,
        offerInput({ key, purpose: 'feedback', contents: { sms: { lv: SMS_LV } } }),
        who,
      );
    }
    await activateOffer(t.db, 'list-b', who);
    await activateOffer(t.db, 'list-c', who);

    const all = await listOffers(t.db, { purpose: 'feedback', limit: 10 });
    expect(all.map((o) => o.key)).toEqual(keys);
    expect(all[0]).toMatchObject({ key: 'list-a', status: 'draft', locales: { sms: ['lv'] } });
    expect(all[0]).not.toHaveProperty('contents');

    const active = await listOffers(t.db, { purpose: 'feedback', status: 'active', limit: 1 });
    expect(active.map((o) => o.key)).toEqual(['list-b']);
    const next = await listOffers(t.db, {
      purpose: 'feedback',
      status: 'active',
      limit: 1,
      after: active[0]?.id,
    });
    expect(next.map((o) => o.key)).toEqual(['list-c']);
    expect(await listOffers(t.db, { purpose: 'feedback', status: 'archived', limit: 10 })).toEqual([]);
  });
});
