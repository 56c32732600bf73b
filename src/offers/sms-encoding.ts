import type { ParsedTemplate } from './template.js';
import { type FieldName, isPersonalField } from './template-fields.js';

/**
 * How an SMS text travels (docs/offers.md): GSM-7 when every character is in the GSM 03.38 basic set or
 * its extension table, else UCS-2; and how many segments it costs. A multi-part SMS spends part of each
 * segment on the concatenation header, so the per-segment room shrinks once a second one is needed.
 */

/** GSM 03.38 basic character set (0x1B, the escape to the extension table, left out). */
export const GSM7_BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
  '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
/** The extension table: each character costs two septets (escape + code). */
export const GSM7_EXTENSION = '\f^{}\\[~]|€';

const BASIC = new Set(GSM7_BASIC);
const EXTENSION = new Set(GSM7_EXTENSION);

export const SEGMENT_LIMITS = {
  'GSM-7': { single: 160, multi: 153 },
  'UCS-2': { single: 70, multi: 67 },
} as const;

export type SmsEncodingName = keyof typeof SEGMENT_LIMITS;

export interface SmsEncoding {
  readonly encoding: SmsEncodingName;
  /** Septets (GSM-7) or UTF-16 code units (UCS-2). */
  readonly units: number;
  readonly segments: number;
  /** Characters that forced UCS-2, each once, in order of appearance (at most 10). */
  readonly nonGsmCharacters: readonly string[];
}

export function isGsm7(text: string): boolean {
  for (const c of text) if (!BASIC.has(c) && !EXTENSION.has(c)) return false;
  return true;
}

/**
 * Fills segments in order; a character never straddles two: an extension character needs both its
 * septets in one segment, a surrogate pair both its code units. (Carriers split between code points, so
 * an emoji sequence joined by ZWJ may still break across segments; it is rejoined on the phone.)
 */
function countSegments(costs: readonly number[], single: number, multi: number): number {
  const total = costs.reduce((a, b) => a + b, 0);
  if (total <= single) return 1;
  let segments = 1;
  let used = 0;
  for (const cost of costs) {
    if (used + cost > multi) {
      segments += 1;
      used = 0;
    }
    used += cost;
  }
  return segments;
}

/** The encoding and segment count of an SMS text exactly as it will be sent. */
export function smsEncoding(text: string): SmsEncoding {
  const nonGsm = nonGsmCharacters(text);
  if (nonGsm.length > 0) return asUcs2(text, nonGsm);
  const costs = [...text].map((c) => (EXTENSION.has(c) ? 2 : 1));
  const { single, multi } = SEGMENT_LIMITS['GSM-7'];
  return {
    encoding: 'GSM-7',
    units: costs.reduce((a, b) => a + b, 0),
    segments: countSegments(costs, single, multi),
    nonGsmCharacters: [],
  };
}

function nonGsmCharacters(text: string): string[] {
  return [...new Set([...text].filter((c) => !BASIC.has(c) && !EXTENSION.has(c)))].slice(0, 10);
}

/** `text` measured as UCS-2; `nonGsm` names the characters that force it. */
function asUcs2(text: string, nonGsm: readonly string[]): SmsEncoding {
  const costs = [...text].map((c) => c.length);
  const { single, multi } = SEGMENT_LIMITS['UCS-2'];
  return {
    encoding: 'UCS-2',
    units: text.length,
    segments: countSegments(costs, single, multi),
    nonGsmCharacters: nonGsm,
  };
}

/**
 * The longest value each field is assumed to take. Names: longer ones exist but are rare; links: the
 * public base URL plus a signed token. The channel worker measures the real message; this is for the
 * marketer, at save time.
 */
export const ASSUMED_LENGTHS: Readonly<Record<FieldName, number>> = {
  first_name: 20,
  last_name: 20,
  client_number: 20,
  offer_url: 64,
  unsubscribe_url: 64,
  controller_name: 30,
  controller_reg_no: 11,
  controller_address: 60,
  controller_phone: 15,
  controller_email: 40,
  dpo_email: 40,
  support_email: 40,
};

export interface SmsEstimate {
  /** Fields filled with GSM-7 letters of their assumed longest length (or their default, if longer). */
  readonly asWritten: SmsEncoding;
  /**
   * The same when a name holds a letter outside GSM-7 (Jānis, Ольга): the whole message becomes UCS-2.
   * Equal to `asWritten` when the template has no personal field or is UCS-2 already.
   */
  readonly worstCase: SmsEncoding;
}

/** More than this many segments draws a warning when the offer is saved. */
export const SEGMENT_WARNING_THRESHOLD = 3;

/**
 * Estimates an SMS template at save time: it measures the text after rendering with the longest
 * plausible values, not the raw template, because `{{first_name}}` costs a name, not 14 characters.
 * A default text is measured too (its characters can force UCS-2 on their own).
 */
export function estimateSms(
  template: ParsedTemplate,
  lengths: Readonly<Record<FieldName, number>> = ASSUMED_LENGTHS,
): SmsEstimate {
  const fill = (letter: string) =>
    template.segments
      .map((s) => {
        if (s.kind === 'text') return s.text;
        const sample = letter.repeat(lengths[s.field]);
        return s.fallback !== null && s.fallback.length > sample.length ? s.fallback : sample;
      })
      .join('');
  const defaults = template.segments.map((s) => (s.kind === 'field' ? (s.fallback ?? '') : '')).join('');
  const filled = fill('x');
  // A default outside GSM-7 makes every message that falls back on it UCS-2: count as if it did.
  const forcedBy = nonGsmCharacters(defaults);
  const asWritten =
    forcedBy.length > 0 ? asUcs2(filled, nonGsmCharacters(filled + defaults)) : smsEncoding(filled);
  const personal = template.segments.some((s) => s.kind === 'field' && isPersonalField(s.field));
  const worstCase = personal && asWritten.encoding === 'GSM-7' ? smsEncoding(fill('ž')) : asWritten;
  return { asWritten, worstCase };
}
