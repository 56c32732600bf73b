import fc from 'fast-check';
import { parse, serialize } from 'parse5';
import { describe, expect, it } from 'vitest';
import { checkHtml } from '../../../src/offers/html-safety.js';
import { type ParsedTemplate, parseTemplate, renderTemplate } from '../../../src/offers/template.js';
import { BUILDER_EMAIL, HOSTILE_VALUES, XSS_CORPUS } from './html-corpus.js';
import { disallowedIn } from './html-walk.js';
import { EMAIL_EN, EMAIL_LV } from './offer-fixture.js';

const PATH = 'contents/email/lv/html';
const UNSUB = '<a href="{{unsubscribe_url}}">Atteikties</a>';

function check(html: string) {
  return parseTemplate(html, { channel: 'email', part: 'html', path: PATH });
}

function messages(html: string): string[] {
  const result = check(html);
  if (result.ok) return [];
  for (const p of result.problems) expect(p.field).toBe(PATH);
  return result.problems.map((p) => p.message);
}

function accepted(html: string): ParsedTemplate {
  const result = check(html);
  if (!result.ok) throw new Error(result.problems.map((p) => p.message).join('\n'));
  return result.template;
}

/** The template filled with values that try to break out of their places. */
function rendered(template: ParsedTemplate): string {
  const result = renderTemplate(template, HOSTILE_VALUES);
  if (!result.ok) throw new Error(`missing ${result.missing.join(', ')}`);
  return result.text;
}

/** What a reader gets if it parses the message and writes it out again (a webmail, a forwarding client). */
function reserialised(html: string): string {
  return serialize(parse(html));
}

const ORDINARY_EMAIL =
  '<!DOCTYPE html><html><head><meta charset="utf-8"><style>@media (max-width:600px){.c{width:100%}}</style></head>' +
  '<body><table role="presentation"><tr><td class="c" style="color:#333">' +
  '<img src="https://cdn.example/logo.png" alt="{{first_name|Klīx}}" width="120">' +
  '<img src="cid:logo@klix"> a < b && c > d <span title="{{last_name|a > b}}">{{last_name|<i>}}</span>' +
  '<a href="mailto:{{dpo_email}}">DPO</a> <a href="tel:+37167010000">☎</a> <a href="#top">↑</a>' +
  '<!--[if mso]><v:rect style="width:1px"></v:rect><![endif]-->' +
  '<!--[if !mso]><!--><p>not Outlook</p><!--<![endif]-->' +
  `<p>${UNSUB}</p></td></tr></table></body></html>`;

const ACCEPTED: readonly (readonly [string, string])[] = [
  ['the Latvian fixture', EMAIL_LV.html],
  ['the English fixture', EMAIL_EN.html],
  ['an ordinary e-mail', ORDINARY_EMAIL],
  ['a builder-made e-mail with Outlook comments and a VML button', BUILDER_EMAIL],
];

describe('known XSS vectors in e-mail HTML', () => {
  it(`has a corpus of ${XSS_CORPUS.length} vectors`, () => {
    expect(XSS_CORPUS.length).toBeGreaterThanOrEqual(100);
  });

  it.each(XSS_CORPUS)('refuses %s, naming what and where', (_, html, names) => {
    // after the unsubscribe link, every problem is the vector's own
    const after = messages(`${UNSUB}\n${html}`);
    expect(after).toContainEqual(expect.stringMatching(names));
    for (const message of after) expect(message).toMatch(/\(line \d+, column \d+\)$/);
    // before it, the vector may also swallow the link: refused either way
    expect(messages(`${html}\n${UNSUB}`)).not.toEqual([]);
  });
});

describe('accepted e-mail HTML', () => {
  it.each(ACCEPTED)('accepts %s', (_, html) => {
    expect(messages(html)).toEqual([]);
  });

  it.each(ACCEPTED)(
    're-parses %s, filled with hostile values, to allowed elements and attributes only',
    (_, html) => {
      const message = rendered(accepted(html));
      expect(disallowedIn(message)).toEqual([]);
      expect(message).not.toContain('<img src=x');
    },
  );

  it.each(ACCEPTED)(
    'finds nothing new when %s is checked again: as written, filled, or re-serialised',
    (_, html) => {
      expect(check(html)).toEqual(check(html));
      const message = rendered(accepted(html));
      expect(checkHtml(message, []).problems).toEqual([]);
      const again = reserialised(message);
      expect(checkHtml(again, []).problems).toEqual([]);
      expect(disallowedIn(again)).toEqual([]);
      expect(reserialised(again)).toBe(again);
    },
  );
});

/** Pieces that each leave the parser in ordinary body text, so that they combine into valid e-mails. */
const ALLOWED_PIECES = [
  '<p>Sveiki, {{first_name|klient}}!</p>',
  '<p>a < b & c > d; 5&nbsp;%</p>',
  '<a href="{{offer_url}}">Skatīt</a>',
  '<a href="https://klix.example/x?a=1&amp;b=2" target="_blank" rel="noopener">x</a>',
  '<a href="mailto:{{dpo_email}}">DPO</a>',
  '<img src="cid:logo@klix" alt="{{last_name}}" width="120">',
  '<table role="presentation"><tr><td style="color:#333">{{first_name}}</td></tr></table>',
  '<!-- piezīme -->',
  '<!--[if mso]><table role="presentation"><tr><td width="600"><![endif]-->',
  '<!--[if mso]></td></tr></table><![endif]-->',
  '<!--[if !mso]><!--><p>ne Outlook</p><!--<![endif]-->',
  '<style>@media (max-width:600px){.c{width:100%}}</style>',
  '<br>',
  '<hr>',
  'text &amp; more',
  '<b>{{controller_name}}</b>',
  '<span title="{{first_name|a > b}}">x</span>',
  '<ul><li>{{controller_address}}</li></ul>',
];

/** Pieces of markup, good and bad, for templates no one would write but an attacker might. */
const ANY_PIECES = [
  ...ALLOWED_PIECES,
  '<p>',
  '</p>',
  '<a href="',
  '<img src=',
  ' srcset="',
  ' style="',
  ' title="',
  '"',
  "'",
  '`',
  '>',
  '<',
  '</',
  '/',
  '=',
  ' ',
  '&',
  '&#',
  '&#106;',
  '&#x09;',
  'https://klix.example/',
  'javascript:alert(1)',
  'data:x',
  ' 1x, ',
  ' onerror=alert(1)',
  '<!--',
  '-->',
  '--!>',
  '<!--[if mso]>',
  '<![endif]-->',
  '<![CDATA[',
  ']]>',
  '<svg>',
  '<math><mtext>',
  '<style>',
  '</style>',
  '@import ',
  'url(',
  'expression(',
  '<title>',
  '</title>',
  '<noscript>',
  '</noscript>',
  '<template>',
  '<table>',
  '<td>',
  '<frameset>',
  '<body onload=x>',
  '<v:rect>',
  '<base href=https://evil.example/>',
  '<script>',
  '{{first_name}}',
  '{{offer_url}}',
  '{{last_name|a > b}}',
  '{{dpo_email}}',
  '\u0000',
];

// Thousands of parses each: more than the default 5 s when the machine is busy with other test files.
describe('e-mail HTML made of random pieces (property)', { timeout: 60_000 }, () => {
  it('accepts any sequence of allowed pieces, and each fills to allowed elements and attributes only', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...ALLOWED_PIECES), { maxLength: 12 }), (pieces) => {
        const template = accepted(`${pieces.join('')}\n${UNSUB}`);
        const message = rendered(template);
        expect(disallowedIn(message)).toEqual([]);
        expect(checkHtml(reserialised(message), []).problems).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses allowed pieces with any known vector among them', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...ALLOWED_PIECES), { maxLength: 8 }),
        fc.constantFrom(...XSS_CORPUS),
        fc.nat(),
        (pieces, [, vector], at) => {
          const parts = [...pieces];
          parts.splice(at % (parts.length + 1), 0, vector);
          expect(check(`${UNSUB}${parts.join('')}`).ok).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('lets through only what fills, and re-serialises, to allowed elements and attributes; twice the same', () => {
    let acceptedRuns = 0;
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.constantFrom(...ANY_PIECES), fc.string({ maxLength: 3 })), { maxLength: 16 }),
        (pieces) => {
          const source = `${pieces.join('')}\n${UNSUB}`;
          const result = check(source);
          expect(check(source)).toEqual(result);
          if (!result.ok) return;
          acceptedRuns += 1;
          const message = rendered(result.template);
          expect(disallowedIn(message)).toEqual([]);
          expect(checkHtml(message, []).problems).toEqual([]);
          const again = reserialised(message);
          expect(disallowedIn(again)).toEqual([]);
          expect(checkHtml(again, []).problems).toEqual([]);
        },
      ),
      { numRuns: 1000 },
    );
    // the property says something only if some random templates pass
    expect(acceptedRuns).toBeGreaterThan(20);
  });
});
