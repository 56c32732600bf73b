import { describe, expect, it } from 'vitest';
import { validateOfferInput } from '../../../src/offers/offer-input.js';
import { EMAIL_LV, offerInput, SMS_LV } from './offer-fixture.js';

function fields(input: unknown): string[] {
  const result = validateOfferInput(input);
  return result.ok ? [] : result.problems.map((p) => p.field);
}

function messageOf(input: unknown, field: string): string | undefined {
  const result = validateOfferInput(input);
  return result.ok ? undefined : result.problems.find((p) => p.field === field)?.message;
}

describe('offer definition', () => {
  it('accepts a complete offer and fills the defaults', () => {
    const result = validateOfferInput(offerInput());
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value).toMatchObject({
      key: 'spring-cashback',
      purpose: 'service_offers',
      owner: { kind: 'own' },
      validFrom: null,
      validUntil: null,
      priority: 0,
      eligibility: null,
      personalised: false,
      sendCapTotal: null,
      resendAfterDays: 30,
      fallbackLocale: 'lv',
    });
    expect(Object.keys(result.value.contents)).toEqual(['email', 'sms', 'push']);
  });

  it('reads a partner offer with its window, rules, caps and pause', () => {
    const result = validateOfferInput(
      offerInput({
        purpose: 'partner_offers',
        owner: 'partner',
        partner_name: '  Rimi Latvia ',
        valid_from: '2026-05-01T00:00:00+03:00',
        valid_until: '2026-06-01T00:00:00Z',
        priority: 50,
        eligibility: { all: [{ interest: 'food' }, { age: { gte: 18 } }] },
        personalised: true,
        send_cap_total: 10_000,
        resend_after_days: 0,
        fallback_locale: 'lv',
      }),
    );
    expect(result.ok && result.value).toMatchObject({
      owner: { kind: 'partner', partnerName: 'Rimi Latvia' },
      validFrom: new Date('2026-04-30T21:00:00Z'),
      validUntil: new Date('2026-06-01T00:00:00Z'),
      priority: 50,
      eligibility: { all: [{ interest: 'food' }, { age: { gte: 18 } }] },
      sendCapTotal: 10_000,
      resendAfterDays: 0,
    });
  });

  it("refuses a partner's offer that is not of purpose partner_offers, or has no partner name (N3)", () => {
    expect(fields(offerInput({ owner: 'partner', partner_name: 'Rimi' }))).toEqual(['purpose']);
    expect(messageOf(offerInput({ owner: 'partner', partner_name: 'Rimi' }), 'purpose')).toBe(
      "must be partner_offers for a partner's offer (N3)",
    );
    expect(fields(offerInput({ owner: 'partner', purpose: 'partner_offers' }))).toEqual(['partner_name']);
    expect(fields(offerInput({ partner_name: 'Rimi' }))).toEqual(['partner_name']);
    expect(fields(offerInput({ owner: 'someone' }))).toEqual(['owner']);
  });

  it('requires personalised when the eligibility rules use profiling data (N9)', () => {
    const input = offerInput({
      eligibility: { all: [{ age: { gte: 18 } }, { not: { attr: 'tier', op: 'eq', value: 'gold' } }] },
    });
    expect(messageOf(input, 'personalised')).toBe(
      'must be true: the eligibility rules use profiling data (eligibility/all/1/not), so people who objected to profiling may not get this offer (N9)',
    );
    expect(fields(offerInput({ eligibility: { age: { gte: 18 } } }))).toEqual([]);
  });

  it('names invalid eligibility rules by their path in the audience rule language', () => {
    expect(fields(offerInput({ eligibility: { all: [{ attr: 'tier', op: 'LIKE', value: 'g%' }] } }))).toEqual(
      ['eligibility/all/0/op'],
    );
  });

  it('refuses a window that ends before it starts, and times without an offset', () => {
    expect(
      fields(offerInput({ valid_from: '2026-06-01T00:00:00Z', valid_until: '2026-05-01T00:00:00Z' })),
    ).toEqual(['valid_until']);
    expect(fields(offerInput({ valid_from: '2026-06-01 00:00', valid_until: 'tomorrow' }))).toEqual([
      'valid_from',
      'valid_until',
    ]);
  });

  it('refuses a content locale other than lv, en or ru', () => {
    const input = offerInput({ contents: { email: { lv: EMAIL_LV, de: EMAIL_LV } } });
    expect(fields(input)).toEqual(['contents/email/de']);
    expect(messageOf(input, 'contents/email/de')).toBe('is not a supported locale; locales are lv, en, ru');
  });

  it('refuses a channel that has content but none in the fallback locale', () => {
    const input = offerInput({
      fallback_locale: 'en',
      contents: { email: { en: EMAIL_LV }, sms: { lv: SMS_LV } },
    });
    expect(fields(input)).toEqual(['contents/sms/en']);
    expect(messageOf(input, 'contents/sms/en')).toBe(
      'is required: the offer has sms content, and en is its fallback locale',
    );
  });

  it('refuses unknown channels and parts, missing and blank parts, and multi-line subjects', () => {
    const input = offerInput({
      contents: {
        fax: { lv: { text: 'x' } },
        sms: { lv: { text: 'ok', html: '<p>' } },
        push: { lv: { title: 'Line\nbreak', body: '  ' } },
        email: { lv: { html: EMAIL_LV.html, text: EMAIL_LV.text } },
      },
    });
    expect(fields(input)).toEqual([
      'contents/fax',
      'contents/sms/lv/html',
      'contents/push/lv/title',
      'contents/push/lv/body',
      'contents/email/lv/subject',
    ]);
  });

  it('names template problems by their path', () => {
    const input = offerInput({
      contents: {
        email: { lv: { ...EMAIL_LV, html: '<p onclick="x()">{{first_name}}</p>' } },
        sms: { lv: { text: 'Nr. {{client_number}}' } },
      },
    });
    expect(fields(input)).toEqual([
      'contents/email/lv/html',
      'contents/email/lv/html',
      'contents/sms/lv/text',
    ]);
  });

  it('names every invalid field at once, unknown fields included', () => {
    expect(
      fields({
        key: 'Spring Sale!',
        name: '',
        purpose: 'newsletters',
        priority: 1.5,
        send_cap_total: 0,
        resend_after_days: -1,
        personalised: 'yes',
        fallback_locale: 'de',
        colour: 'red',
      }),
    ).toEqual([
      'colour',
      'key',
      'name',
      'purpose',
      'priority',
      'resend_after_days',
      'send_cap_total',
      'personalised',
      'fallback_locale',
    ]);
    expect(fields('an offer')).toEqual(['']);
  });
});
