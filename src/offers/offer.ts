import type { Channel, Locale, Purpose } from '../domain/vocabulary.js';
import type { FieldProblem } from '../errors/validation-error.js';
import type { Rule } from '../segmentation/rules.js';
import { CONTENT_PARTS } from './template-fields.js';

/** What a marketer defines (issue 4, docs/offers.md). */

export const OFFER_STATUSES = ['draft', 'active', 'archived'] as const;
export type OfferStatus = (typeof OFFER_STATUSES)[number];

export interface EmailContent {
  readonly subject: string;
  readonly html: string;
  readonly text: string;
}
export interface SmsContent {
  readonly text: string;
}
export interface PushContent {
  readonly title: string;
  readonly body: string;
}
export interface ContentOf {
  readonly email: EmailContent;
  readonly sms: SmsContent;
  readonly push: PushContent;
}

/** Templates per channel and locale; a channel left out is not offered on that channel. */
export type OfferContents = {
  readonly [C in Channel]?: Readonly<Partial<Record<Locale, ContentOf[C]>>>;
};

/** N3: a partner's offer is always of purpose `partner_offers`. */
export type OfferOwner =
  | { readonly kind: 'own' }
  | { readonly kind: 'partner'; readonly partnerName: string };

export interface OfferDefinition {
  /** A stable slug: `a-z0-9_-`, 2-63 characters. */
  readonly key: string;
  readonly name: string;
  readonly purpose: Purpose;
  readonly owner: OfferOwner;
  readonly validFrom: Date | null;
  readonly validUntil: Date | null;
  /** Higher wins when several offers are eligible. */
  readonly priority: number;
  /** The audience rule language; null: everyone the campaign selects is eligible. */
  readonly eligibility: Rule | null;
  /** Uses profiling: never chosen for a person who objected to profiling (N9). */
  readonly personalised: boolean;
  /** At most this many messages in total; null: no cap. */
  readonly sendCapTotal: number | null;
  /** The same person is not sent this offer again within this many days (0: no pause). */
  readonly resendAfterDays: number;
  /** Used when the person's locale has no content; every channel with content has content in it. */
  readonly fallbackLocale: Locale;
  readonly contents: OfferContents;
}

export interface Offer extends OfferDefinition {
  readonly id: number;
  readonly status: OfferStatus;
  readonly createdBy: string;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  /**
   * What was stored but no longer passes the current checks, e.g. an eligibility rule the rule
   * language has since dropped. Such a rule is read as MATCHES_NOBODY until the offer is updated.
   */
  readonly storedProblems: readonly FieldProblem[];
}

/** A rule no one matches (`not all-of-nothing`): the safe reading of a stored rule that is no longer valid. */
export const MATCHES_NOBODY: Rule = Object.freeze({ not: Object.freeze({ all: [] }) });

/** The channels with content, and the locales of each. */
export function contentLocales(contents: OfferContents): Partial<Record<Channel, Locale[]>> {
  const out: Partial<Record<Channel, Locale[]>> = {};
  for (const [channel, byLocale] of Object.entries(contents) as [Channel, object | undefined][]) {
    const locales = Object.keys(byLocale ?? {}) as Locale[];
    if (locales.length > 0) out[channel] = locales.sort();
  }
  return out;
}

/** `email/lv`, `sms/en`, …: names of what an offer holds, for the audit log. */
export function contentKeys(contents: OfferContents): string[] {
  return Object.entries(contentLocales(contents)).flatMap(([c, locales]) => locales.map((l) => `${c}/${l}`));
}

/**
 * The content a person gets on a channel: in their own locale when the offer has it, else in the
 * offer's fallback locale. undefined when the offer has no content on the channel.
 */
export function chooseContent<C extends Channel>(
  offer: Pick<OfferDefinition, 'contents' | 'fallbackLocale'>,
  channel: C,
  personLocale: Locale | null,
): { readonly locale: Locale; readonly content: ContentOf[C] } | undefined {
  const byLocale = offer.contents[channel] as Partial<Record<Locale, ContentOf[C]>> | undefined;
  for (const locale of personLocale === null
    ? [offer.fallbackLocale]
    : [personLocale, offer.fallbackLocale]) {
    const content = byLocale?.[locale];
    if (content !== undefined) return { locale, content };
  }
  return undefined;
}

export type OfferAction = 'activate' | 'archive';
export type OfferRefusal = 'offer_archived' | 'offer_without_content' | 'offer_expired';

/**
 * draft → active → archived, and draft → archived. Archiving is final: the offer stays for reports and
 * explanations (N9); a new one takes its place. Repeating a step changes nothing and is not an error.
 */
export function offerTransition(
  offer: Pick<Offer, 'status' | 'contents' | 'validUntil'>,
  action: OfferAction,
  now: Date,
): { ok: true; status: OfferStatus; changed: boolean } | { ok: false; code: OfferRefusal; message: string } {
  if (action === 'archive') return { ok: true, status: 'archived', changed: offer.status !== 'archived' };
  if (offer.status === 'archived') {
    return { ok: false, code: 'offer_archived', message: 'an archived offer cannot be activated again' };
  }
  if (offer.status === 'active') return { ok: true, status: 'active', changed: false };
  if (contentKeys(offer.contents).length === 0) {
    return {
      ok: false,
      code: 'offer_without_content',
      message: 'an offer needs content on at least one channel before it can be activated',
    };
  }
  if (offer.validUntil !== null && offer.validUntil.getTime() <= now.getTime()) {
    return { ok: false, code: 'offer_expired', message: 'the validity of this offer has already ended' };
  }
  return { ok: true, status: 'active', changed: true };
}

const sameDate = (a: Date | null, b: Date | null) => (a?.getTime() ?? null) === (b?.getTime() ?? null);

/**
 * What an update changes, as the names of the input (`priority`, `contents/sms/lv`): the audit log
 * records which fields changed, never their content.
 */
export function changedFields(before: OfferDefinition, after: OfferDefinition): string[] {
  const changed: string[] = [];
  const scalars = [
    ['name', before.name, after.name],
    ['purpose', before.purpose, after.purpose],
    ['owner', before.owner.kind, after.owner.kind],
    [
      'partner_name',
      before.owner.kind === 'partner' ? before.owner.partnerName : null,
      after.owner.kind === 'partner' ? after.owner.partnerName : null,
    ],
    ['priority', before.priority, after.priority],
    ['eligibility', JSON.stringify(before.eligibility), JSON.stringify(after.eligibility)],
    ['personalised', before.personalised, after.personalised],
    ['send_cap_total', before.sendCapTotal, after.sendCapTotal],
    ['resend_after_days', before.resendAfterDays, after.resendAfterDays],
    ['fallback_locale', before.fallbackLocale, after.fallbackLocale],
  ] as const;
  for (const [field, a, b] of scalars) if (a !== b) changed.push(field);
  if (!sameDate(before.validFrom, after.validFrom)) changed.push('valid_from');
  if (!sameDate(before.validUntil, after.validUntil)) changed.push('valid_until');
  const keys = new Set([...contentKeys(before.contents), ...contentKeys(after.contents)]);
  for (const key of [...keys].sort()) {
    const [channel, locale] = key.split('/') as [Channel, Locale];
    const a = before.contents[channel]?.[locale] as Record<string, string> | undefined;
    const b = after.contents[channel]?.[locale] as Record<string, string> | undefined;
    if (CONTENT_PARTS[channel].some((part) => a?.[part] !== b?.[part])) changed.push(`contents/${key}`);
  }
  return changed;
}
