import { describe, expect, it } from 'vitest';
import type { Channel } from '../../../src/domain/vocabulary.js';
import { type ParsedTemplate, parseTemplate, renderTemplate } from '../../../src/offers/template.js';
import type { ContentPart } from '../../../src/offers/template-fields.js';

function problems(source: string, channel: Channel, part: ContentPart) {
  const path = `contents/${channel}/lv/${part}`;
  const result = parseTemplate(source, { channel, part, path });
  return result.ok ? [] : result.problems;
}

function parsed(source: string, channel: Channel, part: ContentPart): ParsedTemplate {
  const result = parseTemplate(source, { channel, part, path: `contents/${channel}/lv/${part}` });
  if (!result.ok) throw new Error(result.problems.map((p) => p.message).join('; '));
  return result.template;
}

const UNSUB = ' {{unsubscribe_url}}';

describe('template parsing', () => {
  it('accepts fields with and without defaults, spaces inside the braces, and lone closing braces', () => {
    const t = parsed(
      'Sveiki, {{ first_name | dārgais klient }}! {{last_name}} }} {{offer_url}}',
      'sms',
      'text',
    );
    expect(t.format).toBe('text');
    expect(t.segments).toEqual([
      { kind: 'text', text: 'Sveiki, ' },
      { kind: 'field', field: 'first_name', fallback: 'dārgais klient' },
      { kind: 'text', text: '! ' },
      { kind: 'field', field: 'last_name', fallback: null },
      { kind: 'text', text: ' }} ' },
      { kind: 'field', field: 'offer_url', fallback: null },
    ]);
  });

  it('refuses an unknown field, naming it, the path and the position', () => {
    expect(problems('Hi {{nickname}}', 'sms', 'text')).toEqual([
      {
        field: 'contents/sms/lv/text',
        message: expect.stringMatching(
          /^"nickname" is not a known field; known fields: first_name, .*\(line 1, column 4\)$/,
        ),
      },
    ]);
  });

  it('refuses an unclosed {{ and reports its line and column', () => {
    expect(problems('Line one\nHi {{first_name, welcome', 'sms', 'text')).toEqual([
      { field: 'contents/sms/lv/text', message: '"{{" is not closed with "}}" (line 2, column 4)' },
    ]);
    expect(problems('{{first_name {{last_name}}', 'sms', 'text').map((p) => p.message)).toEqual([
      '"{{" is not closed with "}}" (line 1, column 1)',
    ]);
  });

  it('refuses an empty field and a name that is not lower_snake_case', () => {
    expect(problems('{{}} {{First Name}}', 'sms', 'text').map((p) => p.message)).toEqual([
      'a field needs a name, e.g. {{first_name}} (line 1, column 1)',
      '"First Name" is not a field name: names are lower_snake_case, e.g. {{first_name}} (line 1, column 6)',
    ]);
  });

  it('refuses contact data, selection data and profile attributes in every channel (N6, N7)', () => {
    for (const channel of ['email', 'sms', 'push'] as const) {
      const part = channel === 'email' ? 'subject' : channel === 'sms' ? 'text' : 'body';
      const found = problems(
        '{{email}} {{phone}} {{personal_code}} {{birth_date}} {{attributes.tier}} {{interests}}',
        channel,
        part,
      );
      expect(found.map((p) => p.field)).toEqual(Array(6).fill(`contents/${channel}/lv/${part}`));
      expect(found.map((p) => p.message.split(' ')[0])).toEqual([
        '"email"',
        '"phone"',
        '"personal_code"',
        '"birth_date"',
        '"attributes.tier"',
        '"interests"',
      ]);
      expect(found[0]?.message).toContain('contact data');
      expect(found[2]?.message).toContain('select recipients (N6)');
      expect(found[4]?.message).toContain('profile data');
    }
  });

  it('allows the client number only in push messages (N7)', () => {
    expect(problems('Klienta nr. {{client_number}}', 'push', 'body')).toEqual([]);
    expect(problems('Nr. {{client_number}}', 'sms', 'text')).toEqual([
      {
        field: 'contents/sms/lv/text',
        message: expect.stringContaining('"client_number" may not be used in sms messages'),
      },
    ]);
    expect(problems(`Nr. {{client_number}}${UNSUB}`, 'email', 'text')[0]?.message).toContain(
      'may not be used in email messages',
    );
  });

  it('allows names on every channel', () => {
    expect(problems('{{first_name}} {{last_name}}', 'sms', 'text')).toEqual([]);
    expect(problems('{{first_name}} {{last_name}}', 'push', 'title')).toEqual([]);
    expect(problems('{{first_name}} {{last_name}}', 'email', 'subject')).toEqual([]);
  });

  it('keeps links out of push messages and out of subjects', () => {
    expect(problems('{{offer_url}}', 'push', 'body')[0]?.message).toContain('a push carries no links');
    expect(problems('{{offer_url}}', 'email', 'subject')[0]?.message).toContain(
      'links belong in the message body',
    );
  });

  it('gives defaults only to personal fields, and keeps defaults short, one line and brace-free', () => {
    expect(problems('{{offer_url|https://example.com}}', 'sms', 'text')[0]?.message).toContain(
      'takes no default',
    );
    expect(problems('{{first_name|a{b}}', 'sms', 'text')[0]?.message).toContain('without braces');
    expect(problems(`{{first_name|${'x'.repeat(101)}}}`, 'sms', 'text')[0]?.message).toContain(
      'at most 100 characters',
    );
  });

  it('requires the unsubscribe link in both parts of an e-mail, and a commented-out one does not count', () => {
    expect(problems('Hello', 'email', 'text')).toEqual([
      {
        field: 'contents/email/lv/text',
        message: 'an e-mail must carry {{unsubscribe_url}} in its text part (one-click unsubscribe, N12)',
      },
    ]);
    expect(problems('<p>Hello</p><!-- <a href="{{unsubscribe_url}}">x</a> -->', 'email', 'html')).toEqual([
      {
        field: 'contents/email/lv/html',
        message: 'an e-mail must carry {{unsubscribe_url}} in its HTML part (one-click unsubscribe, N12)',
      },
    ]);
    expect(problems('<a href="{{unsubscribe_url}}">Atteikties</a>', 'email', 'html')).toEqual([]);
    expect(problems('Subject without link', 'email', 'subject')).toEqual([]);
  });

  it('names every problem of a template, not only the first', () => {
    const found = problems('{{nickname}} {{email}} {{first_name', 'email', 'text');
    expect(found.map((p) => p.message.slice(0, 14))).toEqual([
      '"nickname" is ',
      '"email" is con',
      '"{{" is not cl',
      'an e-mail must',
    ]);
  });
});

describe('template rendering', () => {
  const values = { first_name: 'Tom & "Jerry" <b>', unsubscribe_url: 'https://klix.example/u/abc?x=1&y=2' };

  it('HTML-escapes values in the HTML part', () => {
    const t = parsed(
      '<p title="{{first_name}}">Hi {{first_name}}</p><a href="{{unsubscribe_url}}">x</a>',
      'email',
      'html',
    );
    expect(renderTemplate(t, values)).toEqual({
      ok: true,
      text:
        '<p title="Tom &amp; &quot;Jerry&quot; &lt;b&gt;">Hi Tom &amp; &quot;Jerry&quot; &lt;b&gt;</p>' +
        '<a href="https://klix.example/u/abc?x=1&amp;y=2">x</a>',
    });
  });

  it('never escapes values in text parts', () => {
    const t = parsed('Hi {{first_name}} {{unsubscribe_url}}', 'email', 'text');
    expect(renderTemplate(t, values)).toEqual({
      ok: true,
      text: 'Hi Tom & "Jerry" <b> https://klix.example/u/abc?x=1&y=2',
    });
    const subject = parsed("{{first_name}}'s offer", 'email', 'subject');
    expect(renderTemplate(subject, values)).toEqual({ ok: true, text: `Tom & "Jerry" <b>'s offer` });
  });

  it('uses the default, or nothing, when a personal value is missing or blank', () => {
    const t = parsed('Sveiki, {{first_name|klient}}{{last_name}}!', 'sms', 'text');
    expect(renderTemplate(t, {})).toEqual({ ok: true, text: 'Sveiki, klient!' });
    expect(renderTemplate(t, { first_name: null, last_name: '  ' })).toEqual({
      ok: true,
      text: 'Sveiki, klient!',
    });
    expect(renderTemplate(t, { first_name: 'Jānis', last_name: ' Bērziņš' })).toEqual({
      ok: true,
      text: 'Sveiki, JānisBērziņš!',
    });
  });

  it('escapes a default in HTML as it escapes a value', () => {
    const t = parsed('<p>{{first_name|a > b}}</p><a href="{{unsubscribe_url}}">x</a>', 'email', 'html');
    expect(renderTemplate(t, { unsubscribe_url: 'https://u' })).toEqual({
      ok: true,
      text: '<p>a &gt; b</p><a href="https://u">x</a>',
    });
  });

  it('turns line breaks and control characters in a value into spaces', () => {
    const t = parsed('[{{first_name}}]', 'email', 'subject');
    expect(renderTemplate(t, { first_name: 'Anna\r\nBcc: x@example.com\u0000' })).toEqual({
      ok: true,
      text: '[Anna Bcc: x@example.com]',
    });
  });

  it('returns the missing link and controller values instead of rendering a gap', () => {
    const t = parsed('{{controller_name}}: {{offer_url}} {{unsubscribe_url}}', 'email', 'text');
    expect(renderTemplate(t, { offer_url: 'https://o' })).toEqual({
      ok: false,
      missing: ['controller_name', 'unsubscribe_url'],
    });
  });

  it('lets the caller choose escaping explicitly', () => {
    const t = parsed('Hi {{first_name}}', 'sms', 'text');
    expect(renderTemplate(t, { first_name: '<Anna>' }, { escapeHtml: true })).toEqual({
      ok: true,
      text: 'Hi &lt;Anna&gt;',
    });
  });
});
