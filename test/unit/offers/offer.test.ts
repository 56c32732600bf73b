import { describe, expect, it } from 'vitest';
import {
  changedFields,
  chooseContent,
  type OfferDefinition,
  offerTransition,
} from '../../../src/offers/offer.js';
import { validateOfferInput } from '../../../src/offers/offer-input.js';
import { renderContent } from '../../../src/offers/render-content.js';
import { EMAIL_EN, EMAIL_LV, offerInput, PUSH_LV } from './offer-fixture.js';

function definition(overrides: Record<string, unknown> = {}): OfferDefinition {
  const result = validateOfferInput(offerInput(overrides));
  if (!result.ok) throw new Error(result.problems.map((p) => `${p.field}: ${p.message}`).join('; '));
  return result.value;
}

const NOW = new Date('2026-05-10T12:00:00Z');

describe('locale choice', () => {
  const offer = definition({ fallback_locale: 'lv' });

  it("uses the person's locale when the offer has content in it", () => {
    expect(chooseContent(offer, 'email', 'en')).toEqual({ locale: 'en', content: EMAIL_EN });
  });

  it("falls back to the offer's fallback locale when it has none in the person's", () => {
    expect(chooseContent(offer, 'email', 'ru')).toEqual({ locale: 'lv', content: EMAIL_LV });
    expect(chooseContent(offer, 'push', 'en')).toEqual({ locale: 'lv', content: PUSH_LV });
    expect(chooseContent(offer, 'email', null)?.locale).toBe('lv');
  });

  it('finds nothing on a channel the offer has no content for', () => {
    expect(chooseContent(definition({ contents: { email: { lv: EMAIL_LV } } }), 'sms', 'lv')).toBeUndefined();
  });
});

describe('rendering a content for a person', () => {
  const offer = definition();
  const links = {
    offer_url: 'https://klix.example/c/1',
    unsubscribe_url: 'https://klix.example/u/t',
    controller_name: 'AS "Citadele banka"',
  };

  it('renders every part of the e-mail in the chosen locale, escaping only the HTML', () => {
    const outcome = renderContent(offer, 'email', 'en', { ...links, first_name: 'Ann & Bob' });
    expect(outcome).toEqual({
      ok: true,
      locale: 'en',
      rendered: {
        subject: 'Your Klīx offer, Ann & Bob',
        html:
          '<p>Hello Ann &amp; Bob,</p>\n<p><a href="https://klix.example/c/1">See the offer</a></p>\n' +
          '<p><a href="https://klix.example/u/t">Unsubscribe</a> · AS &quot;Citadele banka&quot;</p>',
        text: 'Hello Ann & Bob,\nSee the offer: https://klix.example/c/1\nUnsubscribe: https://klix.example/u/t',
      },
    });
  });

  it('uses the defaults for a person without a name', () => {
    const outcome = renderContent(offer, 'push', 'ru', { first_name: null });
    expect(outcome).toEqual({
      ok: true,
      locale: 'lv',
      rendered: { title: 'Jauns piedāvājums', body: 'Sveiki, skatiet lietotnē!' },
    });
  });

  it('refuses to render an e-mail without its unsubscribe link', () => {
    expect(renderContent(offer, 'email', 'lv', { offer_url: 'https://o', controller_name: 'X' })).toEqual({
      ok: false,
      reason: 'missing_values',
      missing: ['unsubscribe_url'],
    });
  });

  it('renders each person from the same parsed content, and a changed content afresh', () => {
    const body = (o: ReturnType<typeof renderContent<'push'>>) => (o.ok ? o.rendered.body : o.reason);
    expect(body(renderContent(offer, 'push', 'lv', { first_name: 'Anna' }))).toBe('Anna, skatiet lietotnē!');
    expect(body(renderContent(offer, 'push', 'lv', { first_name: 'Jānis' }))).toBe(
      'Jānis, skatiet lietotnē!',
    );
    const edited = definition({
      contents: { push: { lv: { title: 'Jauns', body: 'Labdien, {{first_name|draugs}}!' } } },
    });
    expect(body(renderContent(edited, 'push', 'lv', { first_name: 'Anna' }))).toBe('Labdien, Anna!');
    expect(body(renderContent(offer, 'push', 'lv', { first_name: null }))).toBe('Sveiki, skatiet lietotnē!');
  });

  it('does not render a stored e-mail whose HTML the check refuses (one saved before the check grew stricter)', () => {
    const offer = definition();
    const stored = {
      ...offer,
      contents: {
        ...offer.contents,
        email: {
          lv: {
            ...EMAIL_LV,
            html: `<link rel="stylesheet" href="https://evil.example/x.css">${EMAIL_LV.html}`,
          },
        },
      },
    };
    expect(renderContent(stored, 'email', 'lv', links)).toEqual({
      ok: false,
      reason: 'invalid_template',
      problems: [
        {
          field: 'contents/email/lv/html',
          message: expect.stringMatching(/^<link> is not allowed: .* \(line 1, column 1\)$/),
        },
      ],
    });
  });

  it('says so when the offer has no content on the channel', () => {
    expect(renderContent(definition({ contents: {} }), 'sms', 'lv', {})).toEqual({
      ok: false,
      reason: 'no_content',
    });
  });
});

describe('offer status', () => {
  const draft = { status: 'draft' as const, contents: definition().contents, validUntil: null };

  it('activates a draft with content whose validity has not ended', () => {
    expect(offerTransition(draft, 'activate', NOW)).toEqual({ ok: true, status: 'active', changed: true });
  });

  it('refuses to activate a draft without content, or one whose validity has ended', () => {
    expect(offerTransition({ ...draft, contents: {} }, 'activate', NOW)).toMatchObject({
      ok: false,
      code: 'offer_without_content',
    });
    expect(
      offerTransition({ ...draft, validUntil: new Date('2026-05-01T00:00:00Z') }, 'activate', NOW),
    ).toMatchObject({
      ok: false,
      code: 'offer_expired',
    });
  });

  it('treats archiving as final and repeating a step as no change', () => {
    expect(offerTransition({ ...draft, status: 'archived' }, 'activate', NOW)).toMatchObject({
      ok: false,
      code: 'offer_archived',
    });
    expect(offerTransition({ ...draft, status: 'active' }, 'activate', NOW)).toEqual({
      ok: true,
      status: 'active',
      changed: false,
    });
    expect(offerTransition({ ...draft, status: 'archived' }, 'archive', NOW)).toMatchObject({
      changed: false,
    });
    expect(offerTransition({ ...draft, status: 'active' }, 'archive', NOW)).toMatchObject({
      status: 'archived',
      changed: true,
    });
  });
});

describe('what an update changes', () => {
  it('names changed fields and contents, never their values', () => {
    const before = definition();
    const after = definition({
      priority: 5,
      valid_until: '2027-01-01T00:00:00Z',
      contents: {
        email: { lv: { ...EMAIL_LV, subject: 'Jauns temats' }, en: EMAIL_EN },
        push: { lv: PUSH_LV },
      },
    });
    expect(changedFields(before, after)).toEqual([
      'priority',
      'valid_until',
      'contents/email/lv',
      'contents/sms/lv',
    ]);
    expect(changedFields(before, definition())).toEqual([]);
  });
});
