import type { TemplateValues } from '../../../src/offers/template.js';

/**
 * Known ways to run code in, or smuggle something out of, HTML that a mail client renders: each with
 * what the refusal must name. Sources: the OWASP XSS filter evasion cheat sheet, the HTML5 Security
 * Cheatsheet, DOMPurify's mutation-XSS reports, and e-mail specifics (Outlook's conditional comments).
 */
export const XSS_CORPUS: readonly (readonly [label: string, html: string, names: RegExp])[] = [
  // scripts
  ['a script', '<script>alert(1)</script>', /<script> is not allowed/],
  [
    'a script in mixed case, from a remote host',
    '<ScRiPt src="https://evil.example/x.js"></ScRiPt>',
    /<script>/,
  ],
  ['a script with a slash for a space', '<script/src="https://evil.example/x.js"></script>', /<script>/],
  ['a script split by another', '<scr<script>ipt>alert(1)</script>', /is not allowed/],
  // javascript: and other schemes, with entities, whitespace and case
  ['a javascript: link', '<a href="javascript:alert(1)">x</a>', /"javascript:" URLs are not allowed/],
  ['a javascript: link in mixed case', '<a href="JaVaScRiPt:alert(1)">x</a>', /URLs are not allowed/],
  ['a javascript: link after spaces', '<a href="   javascript:alert(1)">x</a>', /URLs are not allowed/],
  ['a javascript: link with a tab inside', '<a href="java\tscript:alert(1)">x</a>', /"javascript:" links/],
  [
    'a javascript: link with a tab reference',
    '<a href="java&#x09;script:alert(1)">x</a>',
    /"javascript:" links/,
  ],
  [
    'a javascript: link with a newline reference',
    '<a href="jav&#x0A;ascript:alert(1)">x</a>',
    /"javascript:"/,
  ],
  [
    'a javascript: link with a decimal reference',
    '<a href="&#106;avascript:alert(1)">x</a>',
    /"javascript:"/,
  ],
  [
    'a javascript: link in hex references',
    '<a href="&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;&#x3A;alert(1)">x</a>',
    /"javascript:" links/,
  ],
  [
    'a javascript: link in padded references without semicolons',
    '<a href="&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#0000112&#0000116&#0000058alert(1)">x</a>',
    /"javascript:" links/,
  ],
  ['a javascript: link with &colon;', '<a href="javascript&colon;alert(1)">x</a>', /"javascript:" links/],
  ['a javascript: link after a control reference', '<a href="&#14;javascript:alert(1)">x</a>', /javascript/],
  ['a vbscript: link', '<a href="vbscript:msgbox(1)">x</a>', /"vbscript:" URLs/],
  ['a livescript: link', '<a href="livescript:alert(1)">x</a>', /"livescript:" links/],
  [
    'a data: HTML link',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    /"data:"/,
  ],
  ['a data: SVG image', '<img src="data:image/svg+xml,<svg onload=alert(1)>">', /"data:" links/],
  ['a file: image', '<img src="file:///etc/passwd">', /"file:" links/],
  ['a plain http: link', '<a href="http://evil.example/">x</a>', /"http:" links/],
  ['a protocol-relative link', '<a href="//evil.example/">x</a>', /must be a full URL/],
  ['a relative image', '<img src="open.gif">', /must be a full URL/],
  [
    'a background image by script URL',
    '<table background="javascript:alert(1)"><tr><td>x</td></tr></table>',
    /URLs/,
  ],
  // event handlers
  ['an onerror handler', '<img src="https://a.example/x.png" onerror="alert(1)">', /"onerror"/],
  ['an onload handler on body', '<body onload="alert(1)">', /"onload"/],
  ['a handler after a slash', '<p/onmouseover=alert(1)>x</p>', /"onmouseover"/],
  ['an unquoted handler', '<img src=x onerror=alert(1)//>', /"onerror"/],
  ['a handler in capitals', '<div ONCLICK="x()">x</div>', /"onclick"/],
  ['a focus handler', '<a href="https://a.example/" onfocus="alert(1)" autofocus>x</a>', /"onfocus"/],
  ['a toggle handler on details', '<details open ontoggle=alert(1)>', /<details>/],
  ['a handler on an unknown element', '<x onclick=alert(1)>x</x>', /<x> is not allowed/],
  ['a handler after quotes in a name', '<img """><script>alert(1)</script>">', /<script>/],
  // SVG and MathML
  [
    'an SVG <set> that rewrites a link',
    '<svg><a><set attributeName="href" to="&#106;avascript:alert(1)"/><text y="20">x</text></a></svg>',
    /<svg> is not allowed: e-mail HTML carries no SVG or MathML/,
  ],
  ['an SVG onload', '<svg onload="alert(1)">', /<svg>/],
  ['a script in SVG', '<svg><script>alert(1)</script></svg>', /<svg>/],
  ['a style in SVG', '<svg><style><img src=x onerror=alert(1)></style></svg>', /<svg>/],
  [
    'HTML in SVG foreignObject',
    '<svg><foreignObject><iframe src="https://a.example/"></iframe></foreignObject></svg>',
    /<svg>/,
  ],
  ['a MathML link', '<math href="javascript:alert(1)">x</math>', /<math>/],
  ['a MathML mutation', '<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>', /<math>/],
  // srcset
  ['a srcset with a script URL', '<img srcset="javascript:alert(1) 1x">', /URLs are not allowed/],
  [
    'a srcset with a data: candidate',
    '<img src="https://a.example/x.png" srcset="https://a.example/x.png 1x, data:image/png;base64,AAAA 2x">',
    /"data:" links are not allowed in srcset/,
  ],
  [
    'a srcset with plain http',
    '<img srcset="https://a.example/x.png 1x,http://evil.example/y.png 2x">',
    /"http:"/,
  ],
  // CSS
  ['a style URL', '<div style="background:url(https://tracker.example/open.gif)">x</div>', /may not load/],
  ['a style script URL', '<div style="background-image: url(\'javascript:alert(1)\')">x</div>', /script URL/],
  ['expression()', '<div style="width: expression(alert(1))">x</div>', /expression\(\)/],
  [
    'expression() split by a comment',
    '<div style="width: expr/**/ession(alert(1))">x</div>',
    /expression\(\)/,
  ],
  [
    'expression() behind a CSS escape',
    '<div style="width: \\65 xpression(alert(1))">x</div>',
    /expression\(\)/,
  ],
  ['a behavior', '<div style="behavior: url(x.htc)">x</div>', /expression\(\), a binding/],
  ['a -moz-binding', '<div style="-moz-binding: url(https://a.example/x.xml#xss)">x</div>', /binding/],
  [
    'image-set()',
    '<div style="background:image-set(\'https://a.example/x.png\' 1x)">x</div>',
    /may not load/,
  ],
  ['@import url()', '<style>@import url(https://evil.example/x.css);</style>', /<style> may not load/],
  ['@import of a string', "<style>@import 'https://evil.example/x.css';</style>", /<style> may not load/],
  ['@import behind an escape', '<style>@\\69mport url(x.css);</style>', /<style> may not load/],
  [
    'url() behind an escape',
    '<style>body { background: u\\72l(https://a.example/x.gif) }</style>',
    /may not load/,
  ],
  [
    'a script URL in a style sheet',
    '<style>li { list-style-image: url("javascript:alert(1)") }</style>',
    /script/,
  ],
  ['@namespace', '<style>@namespace svg "http://www.w3.org/2000/svg";</style>', /@namespace/],
  [
    'a remote style sheet',
    '<link rel="stylesheet" href="https://evil.example/x.css">',
    /<link> is not allowed/,
  ],
  [
    'markup inside a style element',
    '<style><img src=x onerror=alert(1)></style>',
    /<style> may not contain "<"/,
  ],
  // comments and conditional comments
  [
    'a script in a conditional comment',
    '<!--[if gte IE 4]><script>alert(1)</script><![endif]-->',
    /in a comment/,
  ],
  [
    'a script URL in an Outlook comment',
    '<!--[if mso]><a href="javascript:alert(1)">x</a><![endif]-->',
    /URLs/,
  ],
  [
    'a script URL on a VML button',
    '<!--[if mso]><v:roundrect href="javascript:alert(1)"></v:roundrect><![endif]-->',
    /URLs are not allowed \(found in a comment\)/,
  ],
  ['an http: VML fill', '<!--[if mso]><v:fill src="http://evil.example/x.png" /><![endif]-->', /"http:"/],
  ['VML outside a comment', '<v:rect style="width:1px"></v:rect>', /<v:rect> is not allowed/],
  [
    'a comment that ends inside an attribute',
    '<!--<img src="--><img src=x onerror=alert(1)//">',
    /"onerror"/,
  ],
  ['a comment closed with --!>', '<!-- --!><img src=x onerror=alert(1)> -->', /--!>/],
  ['a comment closed at once', '<!--><img src=x onerror=alert(1)>-->', /<!---->/],
  [
    'a handler in a plain comment',
    '<!-- <img src=x onerror=alert(1)> -->',
    /"onerror" is not allowed \(found/,
  ],
  ['a downlevel-revealed handler', '<![if !mso]><img src=x onerror=alert(1)><![endif]>', /"onerror"/],
  ['a processing instruction', '<? echo "x" ?>', /is not allowed: write a comment/],
  ['a bogus declaration', '<!x onclick=alert(1)>', /is not allowed: write a comment/],
  ['an unclosed comment', '<!-- never closed', /comment is not closed with -->/],
  // CDATA
  ['a CDATA section in HTML', '<![CDATA[<img src=x onerror=alert(1)>]]>', /CDATA sections are not HTML/],
  ['a CDATA section in SVG', '<svg><![CDATA[</svg><img src=x onerror=alert(1)>]]></svg>', /<svg>/],
  // what changes where the message goes, or what it loads or submits
  ['a base URL', '<base href="https://evil.example/">', /<base> is not allowed/],
  ['a meta refresh', '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">', /<meta http-equiv>/],
  ['a meta set-cookie', '<META HTTP-EQUIV="Set-Cookie" Content="x=y">', /<meta http-equiv>/],
  ['an iframe', '<iframe src="https://evil.example/"></iframe>', /<iframe> is not allowed/],
  ['an iframe srcdoc', '<iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"></iframe>', /<iframe>/],
  ['an object', '<object data="https://evil.example/x.swf"></object>', /<object>/],
  ['an embed', '<embed src="https://evil.example/x.swf">', /<embed>/],
  ['an applet', '<applet code="x"></applet>', /<applet>/],
  ['a form', '<form action="https://evil.example/"><input name="pin"><button>Go</button></form>', /<form>/],
  ['a form action on a button', '<button formaction="javascript:alert(1)">x</button>', /<button>/],
  ['an isindex', '<isindex action="javascript:alert(1)">', /<isindex>/],
  ['a frameset', '<frameset onload="alert(1)"></frameset>', /<frameset>/],
  ['a video poster', '<video poster="javascript:alert(1)"></video>', /<video>/],
  [
    'an image map',
    '<img src="cid:x" usemap="#m"><map name="m"><area href="javascript:alert(1)"></map>',
    /usemap/,
  ],
  ['a ping', '<a href="https://a.example/" ping="https://tracker.example/">x</a>', /"ping"/],
  ['an xlink:href', '<a href="https://a.example/" xlink:href="javascript:alert(1)">x</a>', /"xlink:href"/],
  ['a dynsrc', '<img src="cid:x" dynsrc="javascript:alert(1)">', /"dynsrc"/],
  ['a marquee', '<marquee onstart=alert(1)>x</marquee>', /<marquee>/],
  ['an autofocus input', '<input autofocus onfocus=alert(1)>', /<input>/],
  // mutation XSS: markup that parses differently once moved or serialised
  ['noscript', '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>', /<noscript>/],
  ['template', '<template><style></template><img src=x onerror=alert(1)></style></template>', /<template>/],
  ['noembed', '<noembed><img title="</noembed><img src=x onerror=alert(1)>"></noembed>', /<noembed>/],
  ['xmp', '<xmp><p title="</xmp><img src=x onerror=alert(1)>"></xmp>', /<xmp>/],
  ['plaintext', '<plaintext><img src=x onerror=alert(1)>', /<plaintext>/],
  ['markup in a title', '<title><img src=x onerror=alert(1)></title>', /<title> may not contain "<"/],
  [
    'a nested form',
    '<form><math><mtext></form><form><mglyph><style></math><img src onerror=alert(1)>',
    /<form>/,
  ],
  // readers that disagree
  [
    'a repeated attribute',
    '<a href="https://a.example/" href="javascript:alert(1)">x</a>',
    /"href" is repeated/,
  ],
  ['attributes on an end tag', '<p>x</p onmouseover="alert(1)">', /end tag <\/p> may not carry attributes/],
  ['a quote inside an unquoted value', '<img src=https://a.example/x.png alt=a"b>', /must be quoted/],
  ['a backtick value', '<img src=https://a.example/x.png alt=`x`>', /must be quoted/],
  ['a NUL inside a scheme', '<a href="java\u0000script:alert(1)">x</a>', /control character U\+0000/],
  ['a control character', '<p>\u0001</p>', /control character U\+0001/],
  ['a cell outside a table', '<td>x</td>', /<td> is out of place/],
  // unclosed tags
  [
    'an unclosed attribute value',
    '<img src="https://a.example/x.png" alt="x',
    /the value of alt is not closed with "/,
  ],
  ['an unclosed tag', '<a href="https://a.example/"', /tag <a> is not closed with >/],
  [
    'an unclosed tag with a handler',
    '<img src=https://a.example/x.png onerror=alert(1)',
    /tag <img> is not closed/,
  ],
  ['an unclosed tag name', '<div', /tag <div> is not closed/],
  ['an unclosed style', '<style>.x{}', /<style> is not closed with <\/style>/],
  ['an unclosed title', '<title>x', /<title> is not closed with <\/title>/],
  // fields where a value would become markup or a destination
  ['a name as a tag name', '<{{first_name}}>', /a field may not be part of a tag name/],
  ['a name as an end tag name', '</{{first_name}}>', /a field may not be part of a tag name/],
  ['a name as an attribute', '<p {{first_name}}>x</p>', /quoted attribute value/],
  ['a name in an unquoted value', '<img src="cid:x" alt={{first_name}}>', /quoted attribute value \(alt\)/],
  [
    'a name in a style',
    '<p style="color:{{first_name}}">x</p>',
    /fields may not be used in a style attribute/,
  ],
  [
    'a name in a style sheet',
    '<style>.x{color:{{first_name}}}</style>',
    /fields may not be used inside <style>/,
  ],
  ['a name as a link', '<a href="{{first_name}}">x</a>', /href must start with \{\{offer_url\}\}/],
  [
    'a name sent in a link',
    '<a href="https://p.example/?n={{last_name}}">x</a>',
    /personal fields may not stand/,
  ],
  ['a name in a declaration', '<!x {{first_name}}>', /a field may not stand inside a declaration/],
  ['a name that could close a comment', '<!-- {{first_name}}> <p>x</p> -->', /right before/],
  ['the reserved character', '<p>\uE000</p>', /U\+E000 is reserved/],
];

/** Values that would break out of their place if the template let them. */
export const HOSTILE_VALUES: TemplateValues = {
  first_name: '"><img src=x onerror=alert(1)><!--',
  last_name: "javascript:alert(1)' onmouseover='x' --",
  offer_url: 'https://klix.example/o/1?a=1&b="2"',
  unsubscribe_url: 'https://klix.example/u/abc?t=1&x=<y>',
  controller_name: 'AS "Citadele banka"',
  controller_reg_no: '40103303559',
  controller_address: 'Republikas laukums 2A, Rīga, LV-1010',
  controller_phone: '+371 67010000',
  controller_email: 'info@citadele.lv',
  dpo_email: 'gdpr@citadele.lv',
  support_email: 'support@klix.app',
};

/** A full e-mail as builders write it: XHTML doctype, Outlook ghost tables and a VML button. */
export const BUILDER_EMAIL = `<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" lang="lv">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Klīx piedāvājums</title>
<!--[if mso]><xml><o:OfficeDocumentSettings><o:AllowPNG/><o:PixelsPerInch>96</o:PixelsPerInch></o:OfficeDocumentSettings></xml><![endif]-->
<style type="text/css">
<!--
body { margin: 0; padding: 0; }
@media only screen and (max-width: 600px) { .col { width: 100% !important; } }
-->
</style>
</head>
<body style="margin:0;padding:0;background-color:#f4f4f4">
<center>
<!--[if mso | IE]><table role="presentation" border="0" cellpadding="0" cellspacing="0" width="600"><tr><td><![endif]-->
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" bgcolor="#ffffff">
<tr><td class="col" align="center" valign="top" style="padding:24px;font-family:Arial,sans-serif">
<h1 style="font-size:22px">Sveiki, {{first_name|klient}}!</h1>
<p>Jūsu piedāvājums: 5&nbsp;% naudas atmaksa, ja pērkat par &gt; 20 &euro;.</p>
<img src="https://cdn.klix.example/spring.png" srcset="https://cdn.klix.example/spring.png 1x, https://cdn.klix.example/spring@2x.png 2x" alt="Pavasaris, {{first_name|klient}}" width="552" style="display:block;max-width:100%;height:auto" border="0">
<!--[if mso]><v:roundrect xmlns:v="urn:schemas-microsoft-com:vml" href="{{offer_url}}" style="height:44px;v-text-anchor:middle;width:220px" arcsize="10%" strokecolor="#1a73e8" fillcolor="#1a73e8"><w:anchorlock/><center style="color:#ffffff">Skatīt</center></v:roundrect><![endif]-->
<!--[if !mso]><!--><a href="{{offer_url}}" target="_blank" rel="noopener" style="background:#1a73e8;color:#ffffff;padding:12px 24px;text-decoration:none;display:inline-block">Skatīt piedāvājumu</a><!--<![endif]-->
</td></tr>
<tr><td style="font-size:12px;color:#666666;padding:24px">
{{controller_name}}, {{controller_address}} · <a href="mailto:{{dpo_email}}">{{dpo_email}}</a> · <a href="tel:+37167010000">+371 67010000</a><br>
<a href="{{unsubscribe_url}}">Atteikties no piedāvājumiem</a> · <a href="#top">↑</a>
</td></tr>
</table>
<!--[if mso | IE]></td></tr></table><![endif]-->
</center>
</body>
</html>`;
