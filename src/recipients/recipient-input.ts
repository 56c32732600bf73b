import { normaliseEmail, normalisePhone } from '../crypto/pseudonym.js';
import type { JsonValue } from '../db/schema.js';
import { LOCALES, type Locale } from '../domain/vocabulary.js';
import type { FieldProblem } from '../errors/validation-error.js';

/**
 * The personal fields the marketing store may hold (N5, N6), as they arrive from the API or an import.
 * `undefined` leaves a field as it is; `null` clears it.
 */
export interface RecipientInput {
  first_name?: string | null;
  last_name?: string | null;
  email?: string | null;
  phone?: string | null;
  locale?: string;
  time_zone?: string;
  birth_date?: string | null;
  personal_code?: string | null;
  attributes?: Record<string, unknown>;
}

/** The same fields, validated and normalised (lower-case e-mail, E.164 phone). */
export interface RecipientFields {
  first_name?: string | null;
  last_name?: string | null;
  email?: string | null;
  phone?: string | null;
  locale?: Locale;
  time_zone?: string;
  birth_date?: string | null;
  personal_code?: string | null;
  attributes?: Record<string, JsonValue>;
}

export const CLIENT_NUMBER = /^[A-Za-z0-9_-]{1,64}$/;
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const ATTRIBUTE_KEY = /^[a-z][a-z0-9_]{0,63}$/;
const MAX_ATTRIBUTES_BYTES = 16_384;

/** Valid zones only, in their canonical spelling; bounded, since case variants alone are unbounded. */
const zoneCache = new Map<string, string>();
const ZONE_CACHE_MAX = 2_000;

/**
 * The IANA name of a time zone in the spelling the database's `time_zones` table holds (migrations/
 * 0008: `europe/riga` is stored as `Europe/Riga`), or undefined when it is not a time zone.
 * Invalid strings are never cached: a client sending garbage must not grow the process's memory.
 */
export function canonicalTimeZone(tz: string): string | undefined {
  const cached = zoneCache.get(tz);
  if (cached !== undefined) return cached;
  if (tz.length > 64 || !/^[A-Za-z_]+(\/[A-Za-z0-9_+-]+)*$/.test(tz)) return undefined;
  let resolved: string;
  try {
    resolved = new Intl.DateTimeFormat('en', { timeZone: tz }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
  // Only the letter case is corrected; ICU's choice among linked names (Europe/Kiev, Europe/Kyiv) is not.
  const canonical = resolved.toLowerCase() === tz.toLowerCase() ? resolved : tz;
  if (zoneCache.size < ZONE_CACHE_MAX) zoneCache.set(tz, canonical);
  return canonical;
}

/** How many zone spellings are remembered (at most ZONE_CACHE_MAX; invalid ones never). */
export function timeZoneCacheSize(): number {
  return zoneCache.size;
}

export function isTimeZone(tz: string): boolean {
  return canonicalTimeZone(tz) !== undefined;
}

/** The earliest birth date taken: earlier ones are typing errors (and year 0 does not exist in PostgreSQL). */
export const EARLIEST_BIRTH_DATE = '1900-01-01';

function isBirthDate(text: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text) || text < EARLIEST_BIRTH_DATE) return false;
  const d = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().startsWith(text) && d.getTime() <= Date.now();
}

function attributeValueOk(value: unknown): value is JsonValue {
  if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) {
    return typeof value !== 'number' || Number.isFinite(value);
  }
  return (
    Array.isArray(value) &&
    value.length <= 100 &&
    value.every((v) => typeof v === 'string' && v.length <= 200)
  );
}

/** Validates and normalises; names every invalid field under `prefix` (e.g. `body`, `line 12`). */
export function validateRecipientInput(
  input: RecipientInput,
  prefix: string,
): { ok: true; value: RecipientFields } | { ok: false; problems: FieldProblem[] } {
  const problems: FieldProblem[] = [];
  const out: RecipientFields = {};
  const bad = (field: string, message: string): void => {
    problems.push({ field: `${prefix}/${field}`, message });
  };

  for (const field of ['first_name', 'last_name'] as const) {
    const v = input[field];
    if (v === undefined) continue;
    if (v !== null && (v.trim().length === 0 || v.length > 100)) bad(field, 'must be 1-100 characters');
    else out[field] = v === null ? null : v.trim();
  }
  if (input.email !== undefined) {
    if (input.email === null) out.email = null;
    else if (input.email.length > 254 || !EMAIL.test(input.email.trim()))
      bad('email', 'is not an e-mail address');
    else out.email = normaliseEmail(input.email);
  }
  if (input.phone !== undefined) {
    const phone = input.phone === null ? null : normalisePhone(input.phone);
    if (phone === undefined) bad('phone', 'is not an international (E.164) number, e.g. +37120000000');
    else out.phone = phone;
  }
  if (input.locale !== undefined) {
    if ((LOCALES as readonly string[]).includes(input.locale)) out.locale = input.locale as Locale;
    else bad('locale', `must be one of ${LOCALES.join(', ')}`);
  }
  if (input.time_zone !== undefined) {
    const zone = canonicalTimeZone(input.time_zone);
    if (zone !== undefined) out.time_zone = zone;
    else bad('time_zone', 'is not an IANA time zone, e.g. Europe/Riga');
  }
  if (input.birth_date !== undefined) {
    if (input.birth_date !== null && !isBirthDate(input.birth_date))
      bad('birth_date', `must be a past date YYYY-MM-DD, from ${EARLIEST_BIRTH_DATE}`);
    else out.birth_date = input.birth_date;
  }
  if (input.personal_code !== undefined) {
    if (input.personal_code === null) out.personal_code = null;
    else {
      const m = /^(\d{6})-?(\d{5})$/.exec(input.personal_code.trim());
      if (m) out.personal_code = `${m[1]}-${m[2]}`;
      else bad('personal_code', 'must be a Latvian personal code, 11 digits (DDMMYY-NNNNN)');
    }
  }
  if (input.attributes !== undefined) {
    const attrs = input.attributes;
    const clean: Record<string, JsonValue> = {};
    let ok = true;
    for (const [key, value] of Object.entries(attrs)) {
      if (!ATTRIBUTE_KEY.test(key)) {
        bad(`attributes/${key}`, 'attribute names are lower_snake_case, at most 64 characters');
        ok = false;
      } else if (!attributeValueOk(value)) {
        bad(`attributes/${key}`, 'must be a string, number, boolean, null or a list of strings');
        ok = false;
      } else {
        clean[key] = value;
      }
    }
    if (ok && JSON.stringify(clean).length > MAX_ATTRIBUTES_BYTES) {
      bad('attributes', `must be at most ${MAX_ATTRIBUTES_BYTES} bytes of JSON`);
      ok = false;
    }
    if (ok) out.attributes = clean;
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, value: out };
}
