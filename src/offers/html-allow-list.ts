/**
 * What e-mail HTML may contain (docs/offers.md, "HTML safety"): an allow-list of elements, of the
 * attributes each may carry, and of the URL schemes a link or image may use. Everything else is refused
 * when the offer is saved. The list is what table-based e-mail layouts need, and nothing that could run
 * code, load something the message does not carry, submit data or change where relative links go.
 */

/** Attributes any allowed element may carry; `aria-*` is allowed too. */
const GLOBAL_ATTRIBUTES = [
  'class',
  'id',
  'style',
  'title',
  'lang',
  'dir',
  'role',
  'align',
  'valign',
  'width',
  'height',
  'bgcolor',
  'color',
] as const;

const CELL = ['colspan', 'rowspan', 'background', 'nowrap', 'scope', 'headers', 'abbr'];

/** Elements and the attributes each may carry besides the global ones. */
const ELEMENTS: Readonly<Record<string, readonly string[]>> = {
  html: ['xmlns', 'xmlns:v', 'xmlns:o', 'xmlns:w'],
  head: [],
  body: ['background', 'text', 'link', 'vlink', 'alink'],
  title: [],
  // `http-equiv` is refused by name (it can refresh or redirect); `charset`, `name`, `content` describe.
  meta: ['charset', 'name', 'content'],
  style: ['type', 'media'],
  a: ['href', 'name', 'target', 'rel'],
  img: ['src', 'srcset', 'alt', 'border', 'hspace', 'vspace'],
  table: ['border', 'cellpadding', 'cellspacing', 'background', 'summary'],
  caption: [],
  colgroup: ['span'],
  col: ['span'],
  thead: [],
  tbody: [],
  tfoot: [],
  tr: [],
  td: CELL,
  th: CELL,
  div: [],
  span: [],
  p: [],
  br: ['clear'],
  hr: ['size', 'noshade'],
  h1: [],
  h2: [],
  h3: [],
  h4: [],
  h5: [],
  h6: [],
  ul: ['type'],
  ol: ['start', 'type', 'reversed'],
  li: ['value', 'type'],
  dl: [],
  dt: [],
  dd: [],
  blockquote: ['cite'],
  q: ['cite'],
  del: ['cite', 'datetime'],
  ins: ['cite', 'datetime'],
  time: ['datetime'],
  pre: [],
  code: [],
  kbd: [],
  samp: [],
  var: [],
  b: [],
  strong: [],
  i: [],
  em: [],
  u: [],
  s: [],
  strike: [],
  small: [],
  big: [],
  sub: [],
  sup: [],
  mark: [],
  abbr: [],
  cite: [],
  dfn: [],
  tt: [],
  bdi: [],
  bdo: [],
  wbr: [],
  center: [],
  font: ['face', 'size'],
  address: [],
  article: [],
  section: [],
  header: [],
  footer: [],
  main: [],
  nav: [],
  aside: [],
  figure: [],
  figcaption: [],
};

/**
 * Outlook's Word engine draws VML shapes (rounded "bulletproof" buttons, background images) written
 * inside conditional comments, `<!--[if mso]>…<![endif]-->`. They are allowed there and nowhere else.
 */
const VML_ATTRIBUTES = [
  'xmlns:v',
  'xmlns:o',
  'xmlns:w',
  'href',
  'src',
  'fill',
  'fillcolor',
  'filled',
  'stroke',
  'strokecolor',
  'strokeweight',
  'arcsize',
  'type',
  'color',
  'color2',
  'inset',
  'coordsize',
  'origin',
  'position',
  'aspect',
  'size',
  'angle',
  'focus',
  'focusposition',
  'focussize',
  'opacity',
];
const OUTLOOK_ELEMENTS: Readonly<Record<string, readonly string[]>> = {
  'v:rect': VML_ATTRIBUTES,
  'v:roundrect': VML_ATTRIBUTES,
  'v:oval': VML_ATTRIBUTES,
  'v:fill': VML_ATTRIBUTES,
  'v:stroke': VML_ATTRIBUTES,
  'v:textbox': VML_ATTRIBUTES,
  'v:image': VML_ATTRIBUTES,
  'w:anchorlock': [],
  xml: [],
  'o:officedocumentsettings': [],
  'o:allowpng': [],
  'o:pixelsperinch': [],
};

/** Attributes whose value is a URL (`srcset`: a list of them), checked against `URL_SCHEMES`. */
export const URL_ATTRIBUTES: ReadonlySet<string> = new Set(['href', 'src', 'srcset', 'background', 'cite']);

/**
 * The schemes a URL may use: https (no plain http: it exposes who reads what), mail and phone links, and
 * `cid:` for images carried in the message itself. A URL without a scheme is allowed only as an
 * in-message `#anchor`: with no `<base>` a relative link goes nowhere a reader could trust.
 */
export const URL_SCHEMES: ReadonlySet<string> = new Set(['https', 'mailto', 'tel', 'cid']);
export const URL_SCHEMES_TEXT = 'https, mailto, tel or cid';

/** Elements whose text runs to their end tag, so that a missing end tag swallows the rest. */
export const TEXT_ONLY_ELEMENTS: ReadonlySet<string> = new Set(['style', 'title']);

/** Where an element stands: in the message, or inside a comment that only Outlook reads. */
export type HtmlPlace = 'document' | 'comment';

export function isAllowedElement(tag: string, place: HtmlPlace): boolean {
  return Object.hasOwn(ELEMENTS, tag) || (place === 'comment' && Object.hasOwn(OUTLOOK_ELEMENTS, tag));
}

export function isAllowedAttribute(tag: string, attribute: string): boolean {
  if ((GLOBAL_ATTRIBUTES as readonly string[]).includes(attribute)) return true;
  if (/^aria-[a-z]+$/.test(attribute)) return true;
  const own = Object.hasOwn(ELEMENTS, tag) ? ELEMENTS[tag] : OUTLOOK_ELEMENTS[tag];
  return own?.includes(attribute) ?? false;
}

/** Why an element is refused, in words a marketer can act on. */
export function refusedElement(tag: string): string {
  if (tag === 'script') return '<script> is not allowed: e-mail carries no scripts';
  if (tag === 'link') return '<link> is not allowed: e-mail loads no remote styles; put styles in <style>';
  return `<${tag}> is not allowed in e-mail HTML`;
}

export interface UrlVerdict {
  readonly ok: boolean;
  /** The scheme, when the URL has one. */
  readonly scheme?: string;
}

/**
 * Whether a URL (an attribute value, character references already decoded) may stand in a message.
 * Browsers drop tabs and line breaks anywhere in a URL and spaces and control characters around it,
 * which is how `java&#x09;script:` still runs: the check reads the URL the same way.
 */
export function checkUrl(value: string): UrlVerdict {
  const url = value.replace(/[\t\n\r]/g, '').replace(/^[\p{Cc} ]+|[\p{Cc} ]+$/gu, '');
  if (url === '' || url.startsWith('#')) return { ok: true };
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) return { ok: false };
  return { ok: URL_SCHEMES.has(scheme), scheme };
}

/**
 * The URLs of a `srcset`: each candidate is a URL followed by optional descriptors (`2x`, `600w`),
 * candidates separated by commas; a URL may itself contain commas, but not at its end.
 */
export function srcsetUrls(value: string): string[] {
  const urls: string[] = [];
  let i = 0;
  const n = value.length;
  const space = /[\t\n\f\r ]/;
  while (i < n) {
    while (i < n && (space.test(value[i] ?? '') || value[i] === ',')) i += 1;
    if (i >= n) break;
    const start = i;
    while (i < n && !space.test(value[i] ?? '')) i += 1;
    let url = value.slice(start, i);
    if (url.endsWith(',')) {
      url = url.replace(/,+$/, '');
    } else {
      // descriptors run to the next comma outside parentheses
      let depth = 0;
      while (i < n && (value[i] !== ',' || depth > 0)) {
        if (value[i] === '(') depth += 1;
        else if (value[i] === ')') depth = Math.max(0, depth - 1);
        i += 1;
      }
    }
    urls.push(url);
  }
  return urls;
}
