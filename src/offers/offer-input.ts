import {
  CHANNELS,
  type Channel,
  LOCALES,
  type Locale,
  PURPOSES,
  type Purpose,
} from '../domain/vocabulary.js';
import type { FieldProblem } from '../errors/validation-error.js';
import { parseRule, type Rule } from '../segmentation/rules.js';
import { parseContent } from './content-templates.js';
import type { ContentOf, OfferContents, OfferDefinition, OfferOwner } from './offer.js';
import { CONTENT_PARTS } from './template-fields.js';

/**
 * An offer as it arrives (API JSON, snake_case), checked completely: every invalid field is named by
 * its path (`valid_until`, `eligibility/all/0/op`, `contents/email/lv/html`), templates included.
 */

export const OFFER_KEY = /^[a-z0-9][a-z0-9_-]{1,62}$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:\d{2})$/;
export const PRIORITY_RANGE = { min: -1000, max: 1000 } as const;
export const MAX_SEND_CAP = 100_000_000;
export const MAX_RESEND_AFTER_DAYS = 3650;
export const DEFAULT_RESEND_AFTER_DAYS = 30;

const FIELDS = [
  'key',
  'name',
  'purpose',
  'owner',
  'partner_name',
  'valid_from',
  'valid_until',
  'priority',
  'eligibility',
  'personalised',
  'send_cap_total',
  'resend_after_days',
  'fallback_locale',
  'contents',
];

/** Longest text per part; subjects and titles are one line. */
const PART_LIMITS: Readonly<Record<string, { readonly max: number; readonly oneLine: boolean }>> = {
  'email/subject': { max: 200, oneLine: true },
  'email/html': { max: 200_000, oneLine: false },
  'email/text': { max: 100_000, oneLine: false },
  'sms/text': { max: 1_600, oneLine: false },
  'push/title': { max: 100, oneLine: true },
  'push/body': { max: 1_000, oneLine: false },
};

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function oneOf<T extends string>(list: readonly T[], v: unknown): v is T {
  return typeof v === 'string' && (list as readonly string[]).includes(v);
}

/** Where the rule reads profiling data (attributes, interests, activity — N9), or undefined. */
export function profilingPredicate(rule: Rule, path: string): string | undefined {
  if ('all' in rule) return rule.all.map((r, i) => profilingPredicate(r, `${path}/all/${i}`)).find(Boolean);
  if ('any' in rule) return rule.any.map((r, i) => profilingPredicate(r, `${path}/any/${i}`)).find(Boolean);
  if ('not' in rule) return profilingPredicate(rule.not, `${path}/not`);
  return 'attr' in rule || 'interest' in rule || 'activity' in rule ? path : undefined;
}

export function validateOfferInput(
  input: unknown,
): { ok: true; value: OfferDefinition } | { ok: false; problems: FieldProblem[] } {
  const problems: FieldProblem[] = [];
  const bad = (field: string, message: string) => problems.push({ field, message });
  if (!isRecord(input))
    return { ok: false, problems: [{ field: '', message: 'an offer must be an object' }] };
  for (const k of Object.keys(input)) if (!FIELDS.includes(k)) bad(k, 'is not a field of an offer');

  const { key, name, purpose, partner_name } = input;
  if (typeof key !== 'string' || !OFFER_KEY.test(key)) {
    bad('key', 'must be 2-63 characters a-z, 0-9, _ or -, starting with a letter or digit');
  }
  if (typeof name !== 'string' || name.trim().length === 0 || name.trim().length > 200) {
    bad('name', 'must be 1-200 characters');
  }
  const purposeOk = oneOf(PURPOSES, purpose);
  if (!purposeOk) bad('purpose', `must be one of ${PURPOSES.join(', ')}`);

  const ownerKind = input.owner ?? 'own';
  let owner: OfferOwner = { kind: 'own' };
  if (ownerKind === 'partner') {
    if (
      typeof partner_name !== 'string' ||
      partner_name.trim().length === 0 ||
      partner_name.trim().length > 200
    ) {
      bad('partner_name', "must be the partner's name, 1-200 characters");
    } else owner = { kind: 'partner', partnerName: partner_name.trim() };
    if (purposeOk && purpose !== 'partner_offers') {
      bad('purpose', "must be partner_offers for a partner's offer (N3)");
    }
  } else if (ownerKind === 'own') {
    if (partner_name !== undefined && partner_name !== null)
      bad('partner_name', 'is only for partner offers');
  } else bad('owner', 'must be own or partner');

  const timestamp = (field: 'valid_from' | 'valid_until'): Date | null => {
    const v = input[field];
    if (v === undefined || v === null) return null;
    const d = typeof v === 'string' && TIMESTAMP.test(v) ? new Date(v) : undefined;
    if (d === undefined || Number.isNaN(d.getTime())) {
      bad(field, 'must be an ISO 8601 date and time with its offset, e.g. 2026-05-01T00:00:00+03:00');
      return null;
    }
    return d;
  };
  const validFrom = timestamp('valid_from');
  const validUntil = timestamp('valid_until');
  if (validFrom !== null && validUntil !== null && validUntil.getTime() <= validFrom.getTime()) {
    bad('valid_until', 'must be after valid_from');
  }

  const integer = (field: string, fallback: number, min: number, max: number, what: string): number => {
    const v = input[field] ?? fallback;
    if (Number.isInteger(v) && (v as number) >= min && (v as number) <= max) return v as number;
    bad(field, `must be ${what}`);
    return fallback;
  };
  const priority = integer(
    'priority',
    0,
    PRIORITY_RANGE.min,
    PRIORITY_RANGE.max,
    'a whole number from -1000 to 1000',
  );
  const resendAfterDays = integer(
    'resend_after_days',
    DEFAULT_RESEND_AFTER_DAYS,
    0,
    MAX_RESEND_AFTER_DAYS,
    `a whole number of days from 0 to ${MAX_RESEND_AFTER_DAYS}`,
  );
  const sendCapTotal =
    input.send_cap_total === undefined || input.send_cap_total === null
      ? null
      : integer('send_cap_total', 1, 1, MAX_SEND_CAP, `a whole number from 1 to ${MAX_SEND_CAP}, or null`);

  const personalised = input.personalised ?? false;
  if (typeof personalised !== 'boolean') bad('personalised', 'must be true or false');

  let eligibility: Rule | null = null;
  if (input.eligibility !== undefined && input.eligibility !== null) {
    const rule = parseRule(input.eligibility, 'eligibility');
    if (rule.ok) {
      eligibility = rule.rule;
      const profiling = profilingPredicate(rule.rule, 'eligibility');
      if (profiling !== undefined && personalised === false) {
        bad(
          'personalised',
          `must be true: the eligibility rules use profiling data (${profiling}), so people who objected to profiling may not get this offer (N9)`,
        );
      }
    } else problems.push(...rule.problems);
  }

  const fallback = input.fallback_locale ?? 'lv';
  const fallbackOk = oneOf(LOCALES, fallback);
  if (!fallbackOk) bad('fallback_locale', `must be one of ${LOCALES.join(', ')}`);
  const contents = readContents(input.contents ?? {}, fallbackOk ? fallback : undefined, problems);

  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    value: {
      key: key as string,
      name: (name as string).trim(),
      purpose: purpose as Purpose,
      owner,
      validFrom,
      validUntil,
      priority,
      eligibility,
      personalised: personalised as boolean,
      sendCapTotal,
      resendAfterDays,
      fallbackLocale: fallback as Locale,
      contents,
    },
  };
}

function readContents(raw: unknown, fallback: Locale | undefined, problems: FieldProblem[]): OfferContents {
  const bad = (field: string, message: string) => problems.push({ field, message });
  if (!isRecord(raw)) {
    bad('contents', 'must be an object: channel → locale → parts');
    return {};
  }
  const out: Partial<Record<Channel, Partial<Record<Locale, Record<string, string>>>>> = {};
  for (const [channel, byLocale] of Object.entries(raw)) {
    const at = `contents/${channel}`;
    if (!oneOf(CHANNELS, channel)) {
      bad(at, `is not a channel; channels are ${CHANNELS.join(', ')}`);
      continue;
    }
    if (!isRecord(byLocale)) {
      bad(at, `must be an object: locale → ${CONTENT_PARTS[channel].join(', ')}`);
      continue;
    }
    const parsedLocales: Partial<Record<Locale, Record<string, string>>> = {};
    for (const [locale, content] of Object.entries(byLocale)) {
      const here = `${at}/${locale}`;
      if (!oneOf(LOCALES, locale)) {
        bad(here, `is not a supported locale; locales are ${LOCALES.join(', ')}`);
        continue;
      }
      const parts = readParts(channel, content, here, problems);
      if (parts === undefined) continue;
      parsedLocales[locale] = parts;
      const check = parseContent(channel, parts as unknown as ContentOf[typeof channel], here);
      if (!check.ok) problems.push(...check.problems);
    }
    if (Object.keys(byLocale).length === 0) continue;
    if (fallback !== undefined && byLocale[fallback] === undefined) {
      bad(
        `${at}/${fallback}`,
        `is required: the offer has ${channel} content, and ${fallback} is its fallback locale`,
      );
    }
    out[channel] = parsedLocales;
  }
  return out as OfferContents;
}

function readParts(
  channel: Channel,
  content: unknown,
  at: string,
  problems: FieldProblem[],
): Record<string, string> | undefined {
  const bad = (field: string, message: string) => problems.push({ field, message });
  const expected: readonly string[] = CONTENT_PARTS[channel];
  if (!isRecord(content)) {
    bad(at, `must be an object with ${expected.join(', ')}`);
    return undefined;
  }
  let ok = true;
  for (const k of Object.keys(content)) {
    if (!expected.includes(k)) {
      bad(`${at}/${k}`, `is not a part of ${channel} content; parts are ${expected.join(', ')}`);
      ok = false;
    }
  }
  const parts: Record<string, string> = {};
  for (const part of CONTENT_PARTS[channel]) {
    const v = content[part];
    const limit = PART_LIMITS[`${channel}/${part}`] ?? { max: 0, oneLine: true };
    if (typeof v !== 'string' || v.trim().length === 0) {
      bad(`${at}/${part}`, 'is required and must not be blank');
      ok = false;
    } else if (v.length > limit.max) {
      bad(`${at}/${part}`, `must be at most ${limit.max} characters`);
      ok = false;
    } else if (limit.oneLine && /[\r\n]/.test(v)) {
      bad(`${at}/${part}`, 'must be one line');
      ok = false;
    } else parts[part] = v;
  }
  return ok ? parts : undefined;
}
