import { describe, expect, it } from 'vitest';
import { parseTemplate } from '../../../src/offers/template.js';

const PATH = 'contents/email/lv/html';
const UNSUB = '<a href="{{unsubscribe_url}}">Atteikties</a>';

/** The messages for an HTML part that otherwise carries its unsubscribe link. */
function messages(html: string): string[] {
  const result = parseTemplate(`${html}\n${UNSUB}`, { channel: 'email', part: 'html', path: PATH });
  if (result.ok) return [];
  for (const p of result.problems) expect(p.field).toBe(PATH);
  return result.problems.map((p) => p.message);
}

/** The same with the unsubscribe link first, for markup that swallows whatever follows it. */
function messagesAfterLink(html: string): string[] {
  const result = parseTemplate(`${UNSUB}${html}`, { channel: 'email', part: 'html', path: PATH });
  return result.ok ? [] : result.problems.map((p) => p.message);
}

describe('e-mail HTML safety', () => {
  it('accepts ordinary e-mail markup: styles, tables, images, mailto links, conditional comments', () => {
    expect(
      messages(
        '<!DOCTYPE html><html><head><meta charset="utf-8"><style>@media (max-width:600px){.c{width:100%}}</style></head>' +
          '<body><table role="presentation"><tr><td class="c" style="color:#333">' +
          '<img src="https://cdn.example/logo.png" alt="{{first_name|Klīx}}" width="120">' +
          '<img src="cid:logo@klix"> a < b && c > d' +
          '<a href="mailto:{{dpo_email}}">DPO</a> <a href="tel:+37167010000">☎</a> <a href="#top">↑</a>' +
          '<!--[if mso]><v:rect style="width:1px"></v:rect><![endif]-->' +
          '<!--[if !mso]><!--><p>not Outlook</p><!--<![endif]-->' +
          '</td></tr></table></body></html>',
      ),
    ).toEqual([]);
  });

  it('refuses <script> anywhere, even in a comment or with odd spacing', () => {
    expect(messages('<p>x</p><script>alert(1)</script>')).toEqual([
      '<script> is not allowed: e-mail carries no scripts (line 1, column 9)',
    ]);
    expect(messages('<!-- <script src="x"></script> -->')).toHaveLength(1);
    expect(messages('<SCRIPT>alert(1)</SCRIPT>')).toHaveLength(1);
  });

  it('refuses javascript: URLs, plain or hidden behind character references and whitespace', () => {
    expect(messages('<a href="javascript:alert(1)">x</a>')).toEqual([
      '"javascript:" URLs are not allowed (line 1, column 10)',
    ]);
    expect(messages('<a href="java&#x09;script&#58;alert(1)">x</a>')).toEqual([
      '"javascript:" links are not allowed in href; use https, mailto, tel or cid (line 1, column 4)',
    ]);
    expect(messages('<a href=" JaVaScRiPt :alert(1)">x</a>')).toHaveLength(1);
    expect(messages('<img src="vbscript:x">')).toHaveLength(1);
  });

  it('refuses other link schemes than https, mailto, tel and cid', () => {
    expect(messages('<img src="data:text/html;base64,PHNjcmlwdD4=">')).toEqual([
      '"data:" links are not allowed in src; use https, mailto, tel or cid (line 1, column 6)',
    ]);
    expect(messages('<a href="http://klix.example/">x</a>')).toEqual([
      '"http:" links are not allowed in href; use https, mailto, tel or cid (line 1, column 4)',
    ]);
    expect(messages('<img srcset="https://a/x.png 1x, file:///etc/passwd 2x">')).toHaveLength(1);
  });

  it('refuses inline event handlers, in tags and in conditional comments', () => {
    expect(messages('<img src="https://a/x.png" onerror="alert(1)">')).toEqual([
      'inline event handler "onerror" is not allowed (line 1, column 28)',
    ]);
    expect(messages('<body ONLOAD=go()>')).toEqual([
      'inline event handler "onload" is not allowed (line 1, column 7)',
    ]);
    expect(messages('<!--[if mso]><div onclick="x()">y</div><![endif]-->')).toEqual([
      'inline event handler "onclick" is not allowed (found in a comment) (line 1, column 19)',
    ]);
  });

  it('refuses frames, objects, forms, <base> and <meta http-equiv>', () => {
    expect(
      messages(
        '<iframe src="https://a"></iframe><object></object><embed><form action="https://a"><input></form>' +
          '<base href="https://evil.example/"><meta http-equiv="refresh" content="0;url=https://a">',
      ),
    ).toEqual([
      '<iframe> is not allowed in e-mail HTML (line 1, column 1)',
      '<object> is not allowed in e-mail HTML (line 1, column 34)',
      '<embed> is not allowed in e-mail HTML (line 1, column 51)',
      '<form> is not allowed in e-mail HTML (line 1, column 58)',
      '<input> is not allowed in e-mail HTML (line 1, column 83)',
      '<base> is not allowed in e-mail HTML (line 1, column 97)',
      '<meta http-equiv> is not allowed: it can refresh or redirect the page (line 1, column 138)',
    ]);
  });

  it('reads markup revealed by a downlevel conditional comment as markup', () => {
    expect(messages('<!--[if !mso]><!--><iframe src="https://a"></iframe><!--<![endif]-->')).toEqual([
      '<iframe> is not allowed in e-mail HTML (line 1, column 20)',
    ]);
  });

  it('refuses CSS that can run code', () => {
    expect(messages('<div style="width: expression(alert(1))">x</div>')).toEqual([
      'style uses expression(), a binding or a hidden script URL (line 1, column 6)',
    ]);
    expect(messages('<style>.a { behavior: url(x.htc) }</style>')).toEqual([
      '<style> uses expression(), a binding or a hidden script URL (line 1, column 1)',
    ]);
  });

  it('refuses markup too broken to tell where a value lands', () => {
    expect(messagesAfterLink('<a href="https://a>x</a>')).toEqual([
      'the value of href is not closed with " (line 1, column 48)',
    ]);
    // a quote closed too late swallows what follows: the unsubscribe link lands inside a tag
    expect(messages('<a href="https://a>x</a>')).toEqual([
      'a field inside a tag must stand in a quoted attribute value (line 2, column 10)',
    ]);
    expect(messagesAfterLink('<p>ok</p><!-- never closed')).toEqual([
      'comment is not closed with --> (line 1, column 54)',
    ]);
    expect(messagesAfterLink('<style>.a{color:red}')).toEqual([
      '<style> is not closed with </style> (line 1, column 45)',
    ]);
    expect(messagesAfterLink('<style>')).toEqual(['<style> is not closed with </style> (line 1, column 45)']);
  });

  it('reports an unclosed tag at the end of the HTML', () => {
    expect(messagesAfterLink('<p class="x"')).toEqual(['tag <p> is not closed with > (line 1, column 45)']);
  });

  it('lets fields stand only in text and quoted attribute values', () => {
    expect(messages('<p>{{first_name}}</p><img alt="{{first_name}}" src="https://a/x.png">')).toEqual([]);
    expect(messages('<img alt={{first_name}}>')).toEqual([
      'a field inside a tag must stand in a quoted attribute value (alt) (line 1, column 6)',
    ]);
    expect(messages('<p {{first_name}}>x</p>')).toEqual([
      'a field inside a tag must stand in a quoted attribute value (line 1, column 4)',
    ]);
    expect(messages('<{{first_name}}>x')).toEqual([
      'a field may not be part of a tag name (line 1, column 1)',
    ]);
    expect(messages('<p style="color:{{first_name}}">x</p>')).toEqual([
      'fields may not be used in a style attribute (line 1, column 4)',
    ]);
  });

  it('lets only a link field decide where a link goes, and keeps names out of links', () => {
    expect(messages('<a href="{{offer_url}}">x</a>')).toEqual([]);
    expect(messages('<a href="{{controller_email}}">x</a>')).toEqual([
      'href must start with {{offer_url}}, {{unsubscribe_url}} or a literal URL (line 1, column 4)',
    ]);
    expect(messages('<a href="https://partner.example/?n={{first_name}}">x</a>')).toEqual([
      'personal fields may not stand in a link: "first_name" would go to whoever serves href (line 1, column 4)',
    ]);
  });

  it('treats a default that looks like markup as text', () => {
    expect(messages('<p title="{{first_name|a > b}}">{{last_name|<i>}}</p>')).toEqual([]);
  });
});
