import type { Channel } from '../domain/vocabulary.js';
import type { FieldProblem } from '../errors/validation-error.js';
import { checkHtml, type FieldSpan } from './html-safety.js';
import { type ContentPart, checkField, type FieldName, isPersonalField } from './template-fields.js';

/**
 * Offer templates (docs/offers.md): literal text with `{{field}}` and `{{field|default}}`. Nothing else
 * — no logic, no loops, no raw output — so a template can be checked completely when it is saved and
 * rendered by plain substitution when it is sent.
 */

export type Segment =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'field'; readonly field: FieldName; readonly fallback: string | null };

export interface ParsedTemplate {
  readonly channel: Channel;
  readonly part: ContentPart;
  /** `html`: values are HTML-escaped when rendered; `text`: never. */
  readonly format: 'html' | 'text';
  readonly segments: readonly Segment[];
}

export interface TemplateTarget {
  readonly channel: Channel;
  readonly part: ContentPart;
  /** Where problems are reported, e.g. `contents/email/lv/html`. */
  readonly path: string;
}

export type TemplateCheck = { ok: true; template: ParsedTemplate } | { ok: false; problems: FieldProblem[] };

const FIELD_NAME = /^[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)*$/;
export const MAX_DEFAULT_LENGTH = 100;

function position(source: string, offset: number): string {
  const before = source.slice(0, offset);
  const line = before.split('\n').length;
  return `line ${line}, column ${offset - before.lastIndexOf('\n')}`;
}

/** Parses and checks a template for one part of one channel's content, naming every problem. */
export function parseTemplate(source: string, target: TemplateTarget): TemplateCheck {
  const { channel, part, path } = target;
  const problems: FieldProblem[] = [];
  const bad = (offset: number | null, message: string) =>
    problems.push({
      field: path,
      message: offset === null ? message : `${message} (${position(source, offset)})`,
    });
  const segments: Segment[] = [];
  const spans: FieldSpan[] = [];

  let textStart = 0;
  let from = 0;
  for (;;) {
    const open = source.indexOf('{{', from);
    if (open === -1) break;
    const close = source.indexOf('}}', open + 2);
    const nextOpen = source.indexOf('{{', open + 2);
    if (close === -1 || (nextOpen !== -1 && nextOpen < close)) {
      bad(open, '"{{" is not closed with "}}"');
      if (close === -1) break;
      from = nextOpen;
      continue;
    }
    from = close + 2;
    const inner = source.slice(open + 2, close);
    const pipe = inner.indexOf('|');
    const name = (pipe === -1 ? inner : inner.slice(0, pipe)).trim();
    const fallback = pipe === -1 ? null : inner.slice(pipe + 1).trim();
    if (name === '') {
      bad(open, 'a field needs a name, e.g. {{first_name}}');
      continue;
    }
    if (!FIELD_NAME.test(name)) {
      bad(open, `"${name}" is not a field name: names are lower_snake_case, e.g. {{first_name}}`);
      continue;
    }
    const check = checkField(name, channel, part);
    if (!check.ok) {
      bad(open, check.reason);
      continue;
    }
    if (fallback !== null) {
      if (!isPersonalField(check.field)) {
        bad(open, `"${name}" always has a value and takes no default; only personal fields do`);
        continue;
      }
      if (/[{}\r\n]/.test(fallback) || fallback.length > MAX_DEFAULT_LENGTH) {
        bad(
          open,
          `the default of "${name}" must be one line of at most ${MAX_DEFAULT_LENGTH} characters, without braces`,
        );
        continue;
      }
    }
    if (open > textStart) segments.push({ kind: 'text', text: source.slice(textStart, open) });
    segments.push({ kind: 'field', field: check.field, fallback });
    spans.push({ start: open, end: close + 2, field: check.field });
    textStart = close + 2;
  }
  if (textStart < source.length) segments.push({ kind: 'text', text: source.slice(textStart) });

  const format = channel === 'email' && part === 'html' ? 'html' : 'text';
  let hidden: ReadonlySet<number> = new Set();
  if (format === 'html') {
    const html = checkHtml(source, spans);
    for (const p of html.problems) bad(p.offset, p.message);
    hidden = html.hidden;
  }
  if (channel === 'email' && (part === 'html' || part === 'text')) {
    const shown = spans.some((s, i) => s.field === 'unsubscribe_url' && !hidden.has(i));
    if (!shown) {
      bad(
        null,
        `an e-mail must carry {{unsubscribe_url}} in its ${part === 'html' ? 'HTML' : 'text'} part (one-click unsubscribe, N12)`,
      );
    }
  }
  return problems.length > 0
    ? { ok: false, problems }
    : { ok: true, template: { channel, part, format, segments } };
}

/** The value of each field for one message; a personal field may be missing, the others may not. */
export type TemplateValues = Partial<Record<FieldName, string | null>>;

export type RenderResult = { ok: true; text: string } | { ok: false; missing: readonly FieldName[] };

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

/**
 * Fills a parsed template. A personal value that is missing or blank becomes the field's default, or
 * nothing; line breaks and other control characters in a value become spaces. Values and defaults are
 * HTML-escaped in the HTML part and never elsewhere (`escapeHtml` defaults to the template's format).
 * A missing link or controller value is a caller's mistake, returned rather than rendered as a gap: an
 * e-mail must never go out without its unsubscribe link.
 */
export function renderTemplate(
  template: ParsedTemplate,
  values: TemplateValues,
  options: { readonly escapeHtml: boolean } = { escapeHtml: template.format === 'html' },
): RenderResult {
  const missing: FieldName[] = [];
  const out = template.segments.map((s) => {
    if (s.kind === 'text') return s.text;
    const value = (values[s.field] ?? '').replace(/\p{Cc}+/gu, ' ').trim();
    let text = value;
    if (value === '') {
      if (isPersonalField(s.field)) text = s.fallback ?? '';
      else missing.push(s.field);
    }
    return options.escapeHtml ? escapeHtml(text) : text;
  });
  return missing.length > 0
    ? { ok: false, missing: [...new Set(missing)] }
    : { ok: true, text: out.join('') };
}
