/**
 * Fields in e-mail HTML, hidden from the parser and found again in what it built. Before the HTML is
 * parsed each `{{field}}` is replaced by a marker of the same length, so that a default such as
 * `{{first_name|a > b}}` cannot look like markup and every offset the parser reports is an offset in
 * the template. A marker names its field's index, so a field is recognised wherever the parser puts it:
 * in text, an attribute value, an attribute or tag name, a comment.
 */

import type { FieldName } from './template-fields.js';

/** Where a `{{field}}` stands in the source. */
export interface FieldSpan {
  readonly start: number;
  readonly end: number;
  readonly field: FieldName;
}

/** Starts a marker; the template itself may not contain it (see `reservedCharacterAt`). */
const MARK = '\uE000';
const FILL = '\uE001';
/** A marker's index is two digits in base 4096, written from U+E100 on (private use, never markup). */
const DIGIT_ZERO = 0xe100;
const FIELD_MARKER = /\uE000([\uE100-\uF0FF])([\uE100-\uF0FF])\uE001*/g;

/** The source with each field replaced by its marker (same length; fields are at least 5 characters). */
export function maskFields(source: string, spans: readonly FieldSpan[]): string {
  const parts: string[] = [];
  let at = 0;
  spans.forEach((span, i) => {
    const length = span.end - span.start;
    const marker = MARK + String.fromCharCode(DIGIT_ZERO + (i >> 12), DIGIT_ZERO + (i & 0xfff));
    parts.push(
      source.slice(at, span.start),
      (marker + FILL.repeat(Math.max(0, length - 3))).slice(0, length),
    );
    at = span.end;
  });
  parts.push(source.slice(at));
  return parts.join('');
}

/** The indexes of the fields whose markers stand in `text` (a text, a value or a name the parser built). */
export function fieldsIn(text: string, count: number): number[] {
  if (!text.includes(MARK)) return [];
  const found: number[] = [];
  for (const m of text.matchAll(FIELD_MARKER)) {
    const index =
      (((m[1] ?? '').charCodeAt(0) - DIGIT_ZERO) << 12) + ((m[2] ?? '').charCodeAt(0) - DIGIT_ZERO);
    if (index < count) found.push(index);
  }
  return found;
}

/** The index of the field `text` starts with, after spaces and control characters, if any. */
export function leadingField(text: string, count: number): number | undefined {
  const lead = text.replace(/^[\p{Cc} ]+/u, '');
  return lead.startsWith(MARK) ? fieldsIn(lead.slice(0, 3), count)[0] : undefined;
}

/** Where the template itself uses the marker character, which would pass for a field. */
export function reservedCharacterAt(source: string): number {
  return source.indexOf(MARK);
}
