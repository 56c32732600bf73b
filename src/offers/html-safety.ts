import {
  type DefaultTreeAdapterMap,
  defaultTreeAdapter,
  type ParserError,
  parse,
  parseFragment,
} from 'parse5';
import {
  checkUrl,
  type HtmlPlace,
  isAllowedAttribute,
  isAllowedElement,
  refusedElement,
  srcsetUrls,
  TEXT_ONLY_ELEMENTS,
  URL_ATTRIBUTES,
  URL_SCHEMES_TEXT,
} from './html-allow-list.js';
import { cssProblem } from './html-css.js';
import { type FieldSpan, fieldsIn, leadingField, maskFields, reservedCharacterAt } from './html-fields.js';
import { parseProblems, textRunAdapter } from './html-parse-problems.js';
import { isLinkField, isPersonalField } from './template-fields.js';

/**
 * The safety check of an e-mail's HTML part, run when the offer is saved (and again before it is
 * rendered). The HTML is parsed by parse5, which builds the tree exactly as the WHATWG HTML standard
 * tells browsers to, and the tree is held to an allow-list (`html-allow-list.ts`): elements, their
 * attributes, URL schemes and CSS. Checking what a browser would build, rather than the text, is what
 * catches markup that only turns harmful once parsed (character references, foreign content, comments
 * that end early). Nothing is rewritten: what is refused is named, with where it stands, and what is
 * accepted is sent as written — so checking it again finds the same.
 *
 * Fields may stand in text and in quoted attribute values — where HTML escaping keeps them values — and
 * a link may start only with a link field: a name cannot choose where a link goes. Fields inside
 * comments are never shown (`hidden`).
 */

export type { FieldSpan } from './html-fields.js';

export interface HtmlProblem {
  readonly offset: number;
  readonly message: string;
}

export interface HtmlCheck {
  readonly problems: readonly HtmlProblem[];
  /** Indexes (into the spans) of fields that are never shown: inside comments, or dropped by the parser. */
  readonly hidden: ReadonlySet<number>;
}

type Tree = DefaultTreeAdapterMap;
type Root = Tree['document'] | Tree['documentFragment'];
type ChildNode = Tree['childNode'];
type AnyElement = Tree['element'] | Tree['template'];

const HTML_NAMESPACE = 'http://www.w3.org/1999/xhtml';
/** `="…"` or `='…'` as written after an attribute's name. */
const QUOTED_VALUE = /^[\t\n\f\r ]*=[\t\n\f\r ]*["']/;
/** Outlook's conditional comment, `<!--[if mso]>…<![endif]-->`: Outlook renders what is inside. */
const CONDITION = /^\[if\b[^\]]*\]>/;
/** The old downlevel-revealed form, `<![if !mso]>…<![endif]>`, and an XML declaration: harmless. */
const HARMLESS_DECLARATION = /^(?:<!\[(?:if\b[^\]]*|endif)\]>|<\?xml\b[^<>]*\?>)$/i;

/** What one check gathers while it walks the document and the markup inside its comments. */
interface Check {
  /** The source with fields masked (`html-fields.ts`). */
  readonly html: string;
  readonly spans: readonly FieldSpan[];
  readonly problems: HtmlProblem[];
  readonly located: Set<number>;
  readonly hidden: Set<number>;
}

/** One parse: the document, or the markup inside one comment, which starts at `base` in the source. */
interface Markup {
  readonly check: Check;
  readonly text: string;
  readonly base: number;
  readonly place: HtmlPlace;
}

export function checkHtml(source: string, spans: readonly FieldSpan[]): HtmlCheck {
  const check: Check = {
    html: maskFields(source, spans),
    spans,
    problems: [],
    located: new Set(),
    hidden: new Set(),
  };
  const reserved = reservedCharacterAt(source);
  if (reserved !== -1) {
    check.problems.push({
      offset: reserved,
      message: 'the character U+E000 is reserved and may not be used',
    });
  }
  checkMarkup(check, check.html, 0, 'document');
  const before = check.problems.length;
  spans.forEach((span, i) => {
    if (check.located.has(i)) return;
    check.hidden.add(i);
    // Usually the consequence of a problem already named (an unclosed tag); alone, it needs a word.
    if (before === 0) {
      check.problems.push({
        offset: span.start,
        message:
          'the HTML parser drops this field: it stands in a repeated attribute, an end tag or a misplaced tag',
      });
    }
  });
  const seen = new Set<string>();
  const problems = check.problems
    .filter((p) => {
      const key = `${p.offset} ${p.message}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .sort((a, b) => a.offset - b.offset);
  return { problems, hidden: check.hidden };
}

function checkMarkup(check: Check, text: string, base: number, place: HtmlPlace): void {
  const errors: ParserError[] = [];
  const options = {
    treeAdapter: textRunAdapter,
    sourceCodeLocationInfo: true,
    onParseError: (e: ParserError) => {
      errors.push(e);
    },
  };
  // A comment holds a fragment (often cells of an Outlook-only table), not a document.
  const root: Root = place === 'document' ? parse(text, options) : parseFragment(text, options);
  const markup: Markup = { check, text, base, place };
  const stack: ChildNode[] = [...root.childNodes].reverse();
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    const children = visit(markup, node);
    for (let i = children.length - 1; i >= 0; i -= 1) {
      const child = children[i];
      if (child !== undefined) stack.push(child);
    }
  }
  for (const p of parseProblems(text, root, errors)) report(markup, base + p.offset, p.message);
}

function report(m: Markup, offset: number, message: string): void {
  m.check.problems.push({
    offset,
    message: m.place === 'comment' ? `${message} (found in a comment)` : message,
  });
}

function locate(m: Markup, fields: readonly number[]): void {
  for (const i of fields) {
    m.check.located.add(i);
    if (m.place === 'comment') m.check.hidden.add(i);
  }
}

function fields(m: Markup, text: string): number[] {
  return fieldsIn(text, m.check.spans.length);
}

/** Checks one node; returns the children to check next. */
function visit(m: Markup, node: ChildNode): readonly ChildNode[] {
  if (defaultTreeAdapter.isTextNode(node)) {
    const found = fields(m, node.value);
    locate(m, found);
    for (const i of found) {
      // `<{{name}}`: the value would become the tag's name, and escaping leaves letters alone
      const start = m.check.spans[i]?.start ?? 0;
      if (m.check.html[start - 1] === '<') report(m, start - 1, 'a field may not be part of a tag name');
    }
    return [];
  }
  if (defaultTreeAdapter.isCommentNode(node)) {
    checkComment(m, node);
    return [];
  }
  if (defaultTreeAdapter.isDocumentTypeNode(node)) {
    const found = fields(m, `${node.name} ${node.publicId} ${node.systemId}`);
    locate(m, found);
    if (found.length > 0) {
      report(
        m,
        m.base + (node.sourceCodeLocation?.startOffset ?? 0),
        'a field may not stand inside a declaration',
      );
    }
    return [];
  }
  return checkElement(m, node);
}

function checkElement(m: Markup, el: AnyElement): readonly ChildNode[] {
  const tag = el.tagName;
  const start = m.base + startOf(m, el);
  const children = 'content' in el ? [...el.childNodes, ...el.content.childNodes] : el.childNodes;
  const namespace: string = el.namespaceURI;
  if (namespace !== HTML_NAMESPACE) {
    report(m, start, `<${tag}> is not allowed: e-mail HTML carries no SVG or MathML`);
    locateSubtree(m, el);
    return [];
  }
  const inName = fields(m, tag);
  if (inName.length > 0 || !isAllowedElement(tag, m.place)) {
    locate(m, [...inName, ...el.attrs.flatMap((a) => fields(m, a.name + a.value))]);
    report(m, start, inName.length > 0 ? 'a field may not be part of a tag name' : refusedElement(tag));
    return children;
  }
  for (const attr of el.attrs) {
    const location = el.sourceCodeLocation?.attrs?.[attr.name];
    const written = location ? m.text.slice(location.startOffset, location.endOffset) : undefined;
    locate(m, fields(m, attr.name + attr.value));
    checkAttribute(m, tag, attr, location ? m.base + location.startOffset : start, written);
  }
  if (!TEXT_ONLY_ELEMENTS.has(tag)) return children;
  const { startTag, endTag } = el.sourceCodeLocation ?? {};
  if (startTag !== undefined && endTag === undefined)
    report(m, start, `<${tag}> is not closed with </${tag}>`);
  // Text to a browser, but markup to a reader that misplaces the element (the mutation-XSS pattern);
  // the `<!-- … -->` that old templates wrap styles in is the one exception. Read as written: in a
  // title, `&lt;` (an escaped value, say) is fine.
  const written = startTag ? m.text.slice(startTag.endOffset, endTag?.startOffset ?? m.text.length) : '';
  if ((tag === 'style' ? /<(?!!--)/ : /</).test(written)) {
    report(m, start, `<${tag}> may not contain "<": a reader could take it for markup`);
  }
  if (tag !== 'style') return children;
  const content = children.map((c) => (defaultTreeAdapter.isTextNode(c) ? c.value : '')).join('');
  const inCss = fields(m, content);
  locate(m, inCss);
  if (inCss.length > 0) report(m, start, 'fields may not be used inside <style>');
  const problem = cssProblem(content);
  if (problem !== null) report(m, start, `<style> ${problem}`);
  return [];
}

/** Where an element starts; one the parser implied, or merged attributes into, has no location. */
function startOf(m: Markup, el: AnyElement): number {
  const location = el.sourceCodeLocation;
  if (location) return location.startOffset;
  return Math.max(0, m.text.toLowerCase().indexOf(`<${el.tagName}`));
}

function checkAttribute(
  m: Markup,
  tag: string,
  attr: { readonly name: string; readonly value: string },
  at: number,
  written: string | undefined,
): void {
  const { name, value } = attr;
  const inValue = fields(m, value);
  if (fields(m, name).length > 0) {
    report(m, at, 'a field inside a tag must stand in a quoted attribute value');
  } else if (name.startsWith('on')) {
    report(m, at, `inline event handler "${name}" is not allowed`);
  } else if (tag === 'meta' && name === 'http-equiv') {
    report(m, at, '<meta http-equiv> is not allowed: it can refresh or redirect the page');
  } else if (!isAllowedAttribute(tag, name)) {
    report(m, at, `attribute "${name}" is not allowed on <${tag}>`);
  } else if (inValue.length > 0 && !QUOTED_VALUE.test(written?.slice(name.length) ?? '')) {
    report(m, at, `a field inside a tag must stand in a quoted attribute value (${name})`);
  } else if (name === 'style') {
    const problem = inValue.length > 0 ? 'fields may not be used in a style attribute' : cssProblem(value);
    if (problem !== null) report(m, at, inValue.length > 0 ? problem : `style ${problem}`);
  } else if (URL_ATTRIBUTES.has(name)) {
    checkUrlAttribute(m, name, value, at, written?.slice(name.length), inValue);
  }
}

function checkUrlAttribute(
  m: Markup,
  name: string,
  value: string,
  at: number,
  written: string | undefined,
  inValue: readonly number[],
): void {
  const spans = m.check.spans;
  // A script URL written plainly is named where it stands; one hidden behind references, by its scheme.
  const plain = /\b(?:java|vb)script\s*:/i.exec(written ?? '');
  if (plain !== null) {
    report(m, at + name.length + plain.index, `"${plain[0]}" URLs are not allowed`);
  } else {
    for (const url of name === 'srcset' ? srcsetUrls(value) : [value]) {
      const first = leadingField(url, spans.length);
      const field = first === undefined ? undefined : spans[first]?.field;
      if (field !== undefined) {
        if (!isLinkField(field)) {
          report(m, at, `${name} must start with {{offer_url}}, {{unsubscribe_url}} or a literal URL`);
        }
        continue;
      }
      const verdict = checkUrl(url);
      if (verdict.ok) continue;
      report(
        m,
        at,
        verdict.scheme === undefined
          ? `${name} must be a full URL (${URL_SCHEMES_TEXT}) or an #anchor, not a relative one`
          : `"${verdict.scheme}:" links are not allowed in ${name}; use ${URL_SCHEMES_TEXT}`,
      );
    }
  }
  for (const i of inValue) {
    const field = spans[i]?.field;
    if (field !== undefined && isPersonalField(field)) {
      report(m, at, `personal fields may not stand in a link: "${field}" would go to whoever serves ${name}`);
    }
  }
}

/**
 * Comments: a field inside one is never shown. What Outlook renders inside a conditional comment is
 * markup like any other and is checked as such; so is the markup of any other comment, so that nothing
 * harmful waits for a reader that ends comments elsewhere. Comments that readers end in different
 * places are refused.
 */
function checkComment(m: Markup, node: Tree['commentNode']): void {
  const location = node.sourceCodeLocation;
  const inside = fields(m, node.data);
  for (const i of inside) {
    m.check.located.add(i);
    m.check.hidden.add(i);
  }
  if (!location) return;
  const start = m.base + location.startOffset;
  const raw = m.text.slice(location.startOffset, location.endOffset);
  const preview = raw.length > 30 ? `${raw.slice(0, 27)}…` : raw;
  if (raw.startsWith('<!--')) {
    checkRealComment(m, raw, start);
  } else if (raw.startsWith('<![CDATA[')) {
    report(
      m,
      start,
      'CDATA sections are not HTML: browsers read <![CDATA[ as a comment that ends at the first >',
    );
  } else if (raw.startsWith('</')) {
    report(
      m,
      start,
      inside.length > 0 ? 'a field may not be part of a tag name' : `"${preview}" is not an end tag`,
    );
  } else if (inside.length > 0) {
    report(m, start, 'a field may not stand inside a declaration');
  } else if (!HARMLESS_DECLARATION.test(raw)) {
    report(m, start, `"${preview}" is not allowed: write a comment as <!-- … -->`);
  }
}

function checkRealComment(m: Markup, raw: string, start: number): void {
  if (raw === '<!-->' || raw === '<!--->') {
    report(m, start, 'an empty comment is written <!---->: readers disagree on where "<!-->" ends');
    return;
  }
  if (raw.endsWith('--!>')) {
    report(m, start, 'comment is closed with --!>: close it with -->');
    return;
  }
  if (raw.length < 7 || !raw.endsWith('-->')) {
    report(m, start, 'comment is not closed with -->');
    return;
  }
  // A value may end in `-` or `--` (escaping leaves dashes alone): written right before `>`, `!>`, `->`
  // or `-!>` it would close the comment there, and show what follows.
  for (const i of fields(m, raw)) {
    const end = m.check.spans[i]?.end ?? 0;
    if (/^-?!?>/.test(m.check.html.slice(end, end + 3))) {
      report(m, end, 'a field in a comment may not stand right before ">", "!>", "->" or "-!>"');
    }
  }
  let content = raw.slice(4, -3);
  let contentStart = start + 4;
  const condition = CONDITION.exec(content);
  if (condition !== null) {
    content = content.slice(condition[0].length);
    contentStart += condition[0].length;
    // `<!--[if !mso]><!-->` opens markup that every reader but Outlook shows: it holds none itself
    if (/^<!(?:--\s*)?$/.test(content)) return;
    content = content.replace(/<!\[endif\]$/, '');
  } else if (content === '<![endif]') {
    return;
  }
  checkMarkup(m.check, content, contentStart, 'comment');
}

/** Marks the fields inside a subtree that is refused whole (SVG, MathML) as found, not dropped. */
function locateSubtree(m: Markup, el: AnyElement): void {
  const stack: ChildNode[] = [el];
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    if (defaultTreeAdapter.isTextNode(node)) locate(m, fields(m, node.value));
    else if (defaultTreeAdapter.isCommentNode(node)) locate(m, fields(m, node.data));
    else if (!defaultTreeAdapter.isDocumentTypeNode(node)) {
      locate(m, fields(m, node.tagName + node.attrs.map((a) => a.name + a.value).join('')));
      for (const child of node.childNodes) stack.push(child);
    }
  }
}
