import { type DefaultTreeAdapterMap, defaultTreeAdapter, parse, parseFragment } from 'parse5';
import { type HtmlPlace, isAllowedAttribute, isAllowedElement } from '../../../src/offers/html-allow-list.js';

/**
 * A second, plain reading of accepted HTML for the tests: parse it as a browser would (parse5), walk
 * every node — and the markup inside every comment, which Outlook may render — and list what is not
 * allowed. It shares only the element and attribute tables with the check; URLs and CSS are judged by
 * its own, blunter rules.
 */

type ChildNode = DefaultTreeAdapterMap['childNode'];

const HTML_NAMESPACE = 'http://www.w3.org/1999/xhtml';
const URL_ATTRIBUTES = ['href', 'src', 'srcset', 'background', 'cite'];
const SAFE_URL = /^(?:https:|mailto:|tel:|cid:|#|$)/i;
const UNSAFE_CSS = /url\s*\(|image-set|expression|@import|javascript|vbscript|behavio|binding/i;

export function disallowedIn(html: string): string[] {
  const found: string[] = [];
  walk(html, 'document', found);
  return found;
}

function walk(text: string, place: HtmlPlace, found: string[]): void {
  const root = place === 'document' ? parse(text) : parseFragment(text);
  const stack: ChildNode[] = [...root.childNodes];
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    if (defaultTreeAdapter.isCommentNode(node)) {
      const inner = node.data.replace(/^\[if[^\]]*\]>/, '').replace(/<!\[endif\]$/, '');
      if (!/^<!(?:--\s*)?$/.test(inner)) walk(inner, 'comment', found);
      continue;
    }
    if (defaultTreeAdapter.isTextNode(node) || defaultTreeAdapter.isDocumentTypeNode(node)) continue;
    const tag = node.tagName;
    const namespace: string = node.namespaceURI;
    if (namespace !== HTML_NAMESPACE || !isAllowedElement(tag, place)) found.push(`<${tag}> ${namespace}`);
    for (const { name, value } of node.attrs) {
      if (name.startsWith('on') || !isAllowedAttribute(tag, name)) found.push(`<${tag} ${name}>`);
      const urls = name === 'srcset' ? value.split(',').map((c) => c.trim().split(/\s+/)[0] ?? '') : [value];
      for (const url of URL_ATTRIBUTES.includes(name) ? urls : []) {
        if (!SAFE_URL.test(url.replace(/[\s\p{Cc}]/gu, ''))) found.push(`<${tag} ${name}="${url}">`);
      }
      if (name === 'style' && UNSAFE_CSS.test(value)) found.push(`<${tag} style="${value}">`);
    }
    if (tag === 'style') {
      const text = node.childNodes.map((c) => (defaultTreeAdapter.isTextNode(c) ? c.value : '')).join('');
      if (UNSAFE_CSS.test(text) || /<(?!!--)/.test(text)) found.push(`<${tag}>${text}`);
    }
    stack.push(...node.childNodes);
    if ('content' in node) stack.push(...node.content.childNodes);
  }
}
