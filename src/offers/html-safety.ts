import { type FieldName, isLinkField, isPersonalField } from './template-fields.js';

/**
 * The safety check of an e-mail's HTML part, run when the offer is saved. It is not a full HTML
 * validator: it refuses what could run code or smuggle a value out of its place, and markup too broken
 * to tell where a value would land.
 *
 * Refused: scripts, frames, objects, forms, `<base>`, `<meta http-equiv>`; inline event handlers
 * (`on…=`); links whose scheme is not http, https, mailto, tel or cid (so no `javascript:`, `data:`);
 * CSS `expression()` and script URLs in styles; unclosed tags, quoted values, comments and `<style>`.
 * Fields may stand in text and in quoted attribute values — where HTML escaping keeps them values — and
 * a link may start only with a link field: a name cannot choose where a link goes.
 */

/** Where a `{{field}}` stands in the source. */
export interface FieldSpan {
  readonly start: number;
  readonly end: number;
  readonly field: FieldName;
}

export interface HtmlProblem {
  readonly offset: number;
  readonly message: string;
}

export interface HtmlCheck {
  readonly problems: readonly HtmlProblem[];
  /** Indexes (into the spans) of fields inside comments: they are never shown. */
  readonly hidden: ReadonlySet<number>;
}

const FORBIDDEN_ELEMENTS = new Set([
  'iframe',
  'frame',
  'frameset',
  'object',
  'embed',
  'applet',
  'base',
  'form',
  'input',
  'button',
  'textarea',
  'select',
  'portal',
]);
/** Elements whose content is not markup: it runs until the matching end tag. */
const RAW_TEXT_ELEMENTS = new Set(['script', 'style', 'title', 'textarea', 'xmp', 'noembed', 'noframes']);
const URL_ATTRIBUTES = new Set([
  'href',
  'src',
  'action',
  'formaction',
  'background',
  'poster',
  'cite',
  'longdesc',
  'usemap',
  'lowsrc',
  'dynsrc',
  'xlink:href',
  'srcset',
  'ping',
  'data',
  'codebase',
  'manifest',
  'icon',
  'profile',
]);
const SAFE_SCHEMES = new Set(['http', 'https', 'mailto', 'tel', 'cid']);
const SCRIPT_TAG = /<\s*script\b/gi;
const SCRIPT_URL = /\b(?:java|vb)script\s*:/gi;
const EVENT_HANDLER = /\son[a-z]+\s*=/gi;
const UNSAFE_CSS = /expression\s*\(|-moz-binding|behavior\s*:/;
const MASK = '\uE000';

/**
 * CSS that can run code: `expression()`, bindings, or a script URL hidden behind character references
 * (a plain one is reported by the whole-document scan).
 */
function unsafeCss(css: string): boolean {
  const seen = normaliseUrl(css);
  return UNSAFE_CSS.test(seen) || (/(?:java|vb)script:/.test(seen) && !/(?:java|vb)script\s*:/i.test(css));
}

/** Character references decoded, whitespace and control characters dropped: what a browser sees. */
function normaliseUrl(value: string): string {
  const codePoint = (n: number) => (n > 0 && n <= 0x10ffff ? String.fromCodePoint(n) : '\uFFFD');
  return value
    .replace(/&#x([0-9a-f]+);?/gi, (_, hex: string) => codePoint(Number.parseInt(hex, 16)))
    .replace(/&#(\d+);?/g, (_, dec: string) => codePoint(Number.parseInt(dec, 10)))
    .replace(/&colon;/gi, ':')
    .replace(/&(?:tab|newline);/gi, '')
    .replace(/[\p{Cc} ]/gu, '')
    .toLowerCase();
}

export function checkHtml(source: string, spans: readonly FieldSpan[]): HtmlCheck {
  const problems: HtmlProblem[] = [];
  const hidden = new Set<number>();
  const bad = (offset: number, message: string) => problems.push({ offset, message });

  // Fields become opaque: a default text such as `{{first_name|a > b}}` must not look like markup.
  let html = source;
  for (const s of spans) html = html.slice(0, s.start) + MASK.repeat(s.end - s.start) + html.slice(s.end);
  const fieldsIn = (from: number, to: number) =>
    spans.map((s, i) => ({ ...s, i })).filter((s) => s.start < to && s.end > from);

  for (const m of html.matchAll(SCRIPT_TAG))
    bad(m.index, '<script> is not allowed: e-mail carries no scripts');
  for (const m of html.matchAll(SCRIPT_URL)) bad(m.index, `"${m[0]}" URLs are not allowed`);

  const n = html.length;
  let i = 0;
  while (i < n) {
    if (html[i] !== '<') {
      i += 1;
      continue;
    }
    if (html.startsWith('<!--', i)) {
      // from i + 2, so that `<!-->` and `<!--->` end where browsers end them
      const end = html.indexOf('-->', i + 2);
      const close = end === -1 ? n : end + 3;
      if (end === -1) bad(i, 'comment is not closed with -->');
      for (const f of fieldsIn(i, close)) hidden.add(f.i);
      // Conditional comments (<!--[if mso]>…) hold markup that some clients render.
      for (const m of html.slice(i, close).matchAll(EVENT_HANDLER)) {
        bad(i + m.index + 1, `inline event handler "${m[0].trim()}" is not allowed (found in a comment)`);
      }
      i = close;
      continue;
    }
    const next = html[i + 1] ?? '';
    if (next === '!' || next === '?') {
      const end = html.indexOf('>', i);
      if (end === -1) {
        bad(i, 'declaration is not closed with >');
        break;
      }
      if (fieldsIn(i, end).length > 0) bad(i, 'a field may not stand inside a declaration');
      i = end + 1;
      continue;
    }
    const isEnd = next === '/';
    const nameStart = isEnd ? i + 2 : i + 1;
    if (!/[A-Za-z\uE000]/.test(html[nameStart] ?? '')) {
      i += 1; // a lone `<` in text, e.g. "a < b"
      continue;
    }
    const tag = readTag(html, i, nameStart, isEnd, fieldsIn, bad);
    if (!tag.closed) break;
    i = tag.end;
    if (!isEnd && RAW_TEXT_ELEMENTS.has(tag.name)) {
      const close = html.toLowerCase().indexOf(`</${tag.name}`, i);
      const contentEnd = close === -1 ? n : close;
      if (close === -1) bad(tag.start, `<${tag.name}> is not closed with </${tag.name}>`);
      if (tag.name === 'style') {
        if (unsafeCss(html.slice(i, contentEnd))) {
          bad(tag.start, '<style> uses expression(), a binding or a hidden script URL');
        }
        if (fieldsIn(i, contentEnd).length > 0) bad(tag.start, 'fields may not be used inside <style>');
      }
      i = contentEnd;
    }
  }
  problems.sort((a, b) => a.offset - b.offset);
  return { problems, hidden };
}

type FieldsIn = (from: number, to: number) => readonly (FieldSpan & { i: number })[];

/** Reads one start or end tag from `<` at `start`; reports what is unsafe in it. */
function readTag(
  html: string,
  start: number,
  nameStart: number,
  isEnd: boolean,
  fieldsIn: FieldsIn,
  bad: (offset: number, message: string) => void,
): { start: number; end: number; name: string; closed: boolean } {
  const n = html.length;
  let j = nameStart;
  while (j < n && !/[\s/>]/.test(html[j] ?? '')) j += 1;
  const name = html.slice(nameStart, j).toLowerCase();
  if (fieldsIn(nameStart, j).length > 0) bad(start, 'a field may not be part of a tag name');
  if (!isEnd && FORBIDDEN_ELEMENTS.has(name)) bad(start, `<${name}> is not allowed in e-mail HTML`);

  for (;;) {
    while (j < n && /[\s/]/.test(html[j] ?? '')) j += 1;
    if (j >= n) {
      bad(start, `tag <${isEnd ? '/' : ''}${name}> is not closed with >`);
      return { start, end: n, name, closed: false };
    }
    if (html[j] === '>') return { start, end: j + 1, name, closed: true };

    const attrStart = j;
    while (j < n && !/[\s=>/]/.test(html[j] ?? '')) j += 1;
    const attr = html.slice(attrStart, j).toLowerCase();
    if (fieldsIn(attrStart, j).length > 0) {
      bad(attrStart, 'a field inside a tag must stand in a quoted attribute value');
    }
    while (j < n && /\s/.test(html[j] ?? '')) j += 1;
    if (html[j] !== '=') {
      checkAttribute(name, attr, '', attrStart, j, [], bad);
      continue;
    }
    j += 1;
    while (j < n && /\s/.test(html[j] ?? '')) j += 1;
    const quote = html[j];
    let valueStart: number;
    let valueEnd: number;
    if (quote === '"' || quote === "'") {
      valueStart = j + 1;
      const close = html.indexOf(quote, valueStart);
      if (close === -1) {
        bad(attrStart, `the value of ${attr} is not closed with ${quote}`);
        return { start, end: n, name, closed: false };
      }
      valueEnd = close;
      j = close + 1;
    } else {
      valueStart = j;
      while (j < n && !/[\s>]/.test(html[j] ?? '')) j += 1;
      valueEnd = j;
      if (fieldsIn(valueStart, valueEnd).length > 0) {
        bad(attrStart, `a field inside a tag must stand in a quoted attribute value (${attr})`);
      }
    }
    const fields = fieldsIn(valueStart, valueEnd);
    checkAttribute(name, attr, html.slice(valueStart, valueEnd), attrStart, valueStart, fields, bad);
  }
}

function checkAttribute(
  tag: string,
  attr: string,
  value: string,
  at: number,
  valueStart: number,
  fields: readonly FieldSpan[],
  bad: (offset: number, message: string) => void,
): void {
  if (attr.startsWith('on')) {
    bad(at, `inline event handler "${attr}" is not allowed`);
    return;
  }
  if (tag === 'meta' && attr === 'http-equiv') {
    bad(at, '<meta http-equiv> is not allowed: it can refresh or redirect the page');
    return;
  }
  if (attr === 'style') {
    if (unsafeCss(value)) bad(at, 'style uses expression(), a binding or a hidden script URL');
    if (fields.length > 0) bad(at, 'fields may not be used in a style attribute');
    return;
  }
  if (!URL_ATTRIBUTES.has(attr)) return;
  const urls =
    attr === 'srcset' || attr === 'ping'
      ? value.split(/[,\s]+/).filter((u) => u.length > 0 && !/^\d+(?:\.\d+)?[wx]$/.test(u))
      : [value];
  for (const url of urls) {
    const lead = value.indexOf(url) + (url.length - url.trimStart().length);
    const first = fields.find((f) => f.start === valueStart + lead);
    if (first !== undefined) {
      if (!isLinkField(first.field)) {
        bad(at, `${attr} must start with {{offer_url}}, {{unsubscribe_url}} or a literal URL`);
      }
    } else if (!/(?:java|vb)script\s*:/i.test(url)) {
      // script URLs written plainly are reported once, by the whole-document scan
      const scheme = /^([a-z][a-z0-9+.-]*):/.exec(normaliseUrl(url))?.[1];
      if (scheme !== undefined && !SAFE_SCHEMES.has(scheme)) {
        bad(at, `"${scheme}:" links are not allowed in ${attr}; use http, https, mailto, tel or cid`);
      }
    }
  }
  for (const f of fields) {
    if (isPersonalField(f.field)) {
      bad(at, `personal fields may not stand in a link: "${f.field}" would go to whoever serves ${attr}`);
    }
  }
}
