/**
 * The check of CSS in e-mail HTML (a `style` attribute or a `<style>` element). Styles may shape the
 * message but not run code nor load anything: no `expression()`, behaviours, bindings or script URLs,
 * and no `url()`, `image-set()` or `@import` — a style that loads a file tells its server who opened
 * the message and when, and may bring in rules nobody checked.
 *
 * CSS is read the way old and new engines read it before matching: comments removed (Internet
 * Explorer ran `expression()` with a comment inside the word), escapes decoded (`\75 rl(` is `url(`),
 * case ignored, and whitespace too where a word or a function is looked for.
 */

/** At-rules that only group or describe rules; any other (`@import`, `@namespace`, …) is refused. */
const AT_RULES = new Set([
  'media',
  'supports',
  'font-face',
  'keyframes',
  '-webkit-keyframes',
  'charset',
  'page',
  '-ms-viewport',
  'viewport',
]);

const RUNS_CODE = /expression\(|behaviou?r:|-moz-binding|javascript:|vbscript:|livescript:/;
const LOADS = /url\(|image-set\(|image\(|src\(|@import/;

/** The CSS as an engine reads it for matching: no comments, escapes decoded, lower case. */
function normalise(css: string): string {
  return css
    .replace(/\/\*[\s\S]*?(?:\*\/|$)/g, '')
    .replace(/\\(?:([0-9a-f]{1,6})[ \t\n\r\f]?|\r?\n|(.))/gis, (_, hex?: string, char?: string) => {
      if (hex === undefined) return char ?? '';
      const n = Number.parseInt(hex, 16);
      return n > 0 && n <= 0x10ffff ? String.fromCodePoint(n) : '\uFFFD';
    })
    .toLowerCase();
}

/** What is wrong with a piece of CSS, as the end of a sentence (`… uses expression()`), or null. */
export function cssProblem(css: string): string | null {
  const readable = normalise(css);
  const seen = readable.replace(/[\s\p{Cc}]+/gu, '');
  if (RUNS_CODE.test(seen)) return 'uses expression(), a binding or a hidden script URL';
  if (LOADS.test(seen)) {
    return 'may not load anything: url(), image-set() and @import are not allowed (images belong in <img>)';
  }
  for (const m of readable.matchAll(/@([a-z-]+)/g)) {
    const rule = m[1] ?? '';
    if (!AT_RULES.has(rule)) return `uses @${rule}, which e-mail styles may not use`;
  }
  return null;
}
