import { describe, expect, it } from 'vitest';
import { estimateSms, GSM7_BASIC, GSM7_EXTENSION, smsEncoding } from '../../../src/offers/sms-encoding.js';
import { smsReport } from '../../../src/offers/sms-report.js';
import { type ParsedTemplate, parseTemplate } from '../../../src/offers/template.js';

function sms(source: string): ParsedTemplate {
  const result = parseTemplate(source, { channel: 'sms', part: 'text', path: 'contents/sms/lv/text' });
  if (!result.ok) throw new Error(result.problems.map((p) => p.message).join('; '));
  return result.template;
}

describe('SMS encoding and segments', () => {
  it('knows the 127 characters of the GSM 03.38 basic set and the 10 of its extension table', () => {
    expect([...GSM7_BASIC]).toHaveLength(127);
    expect(new Set(GSM7_BASIC).size).toBe(127);
    expect([...GSM7_EXTENSION]).toHaveLength(10);
    expect(smsEncoding(GSM7_BASIC).encoding).toBe('GSM-7');
  });

  it('fits 160 GSM-7 characters in one segment and needs two for 161', () => {
    expect(smsEncoding('a'.repeat(160))).toEqual({
      encoding: 'GSM-7',
      units: 160,
      segments: 1,
      nonGsmCharacters: [],
    });
    expect(smsEncoding('a'.repeat(161))).toMatchObject({ units: 161, segments: 2 });
    expect(smsEncoding('a'.repeat(306)).segments).toBe(2);
    expect(smsEncoding('a'.repeat(307)).segments).toBe(3);
  });

  it('counts extension characters (€ [ ] { } \\ ~ ^ |) as two septets', () => {
    expect(smsEncoding('€[]{}\\~^|')).toMatchObject({ encoding: 'GSM-7', units: 18, segments: 1 });
    expect(smsEncoding('€'.repeat(80))).toMatchObject({ units: 160, segments: 1 });
    expect(smsEncoding('€'.repeat(81))).toMatchObject({ units: 162, segments: 2 });
    expect(smsEncoding(`${'a'.repeat(159)}€`)).toMatchObject({ units: 161, segments: 2 });
  });

  it('never splits an extension character across two segments', () => {
    // 306 septets would be two full segments, but the € would straddle the first boundary
    expect(smsEncoding(`${'a'.repeat(152)}€${'a'.repeat(152)}`)).toMatchObject({ units: 306, segments: 3 });
    expect(smsEncoding(`${'a'.repeat(151)}€${'a'.repeat(153)}`)).toMatchObject({ units: 306, segments: 2 });
  });

  it('keeps the GSM-7 accented letters (é, à, ñ, Ä, Ø, ß) in GSM-7', () => {
    expect(smsEncoding('Café à la carte, niño, Äpfel, Øre, Straße').encoding).toBe('GSM-7');
  });

  it('fits 70 UCS-2 code units in one segment and needs two for 71', () => {
    expect(smsEncoding('ā'.repeat(70))).toMatchObject({ encoding: 'UCS-2', units: 70, segments: 1 });
    expect(smsEncoding('ā'.repeat(71))).toMatchObject({ units: 71, segments: 2 });
    expect(smsEncoding('ā'.repeat(134)).segments).toBe(2);
    expect(smsEncoding('ā'.repeat(135)).segments).toBe(3);
  });

  it('makes a Latvian sentence UCS-2, naming the letters that force it', () => {
    const text =
      'Sveiki! Jūsu Klīx piedāvājums gaida lietotnē. Šodien īpaša cena ķiršiem, ģimenei, ļoti, ņem, žogi, čau.';
    const result = smsEncoding(text);
    expect(result).toMatchObject({ encoding: 'UCS-2', units: text.length, segments: 2 });
    // each once, in order of appearance, at most ten (ž and č come later)
    expect(result.nonGsmCharacters).toEqual(['ū', 'ī', 'ā', 'ē', 'Š', 'š', 'ķ', 'ģ', 'ļ', 'ņ']);
  });

  it('makes a Russian sentence UCS-2', () => {
    const text = 'Здравствуйте! Ваше предложение ждёт вас в приложении Klīx.';
    expect(smsEncoding(text)).toMatchObject({ encoding: 'UCS-2', units: text.length, segments: 1 });
  });

  it('forces UCS-2 for a single typographic quote', () => {
    expect(smsEncoding(`It’s ${'a'.repeat(100)}`)).toMatchObject({
      encoding: 'UCS-2',
      segments: 2,
      nonGsmCharacters: ['’'],
    });
  });

  it('counts an emoji as two code units and never splits its surrogate pair', () => {
    expect(smsEncoding('😀')).toMatchObject({ encoding: 'UCS-2', units: 2, segments: 1 });
    expect(smsEncoding('😀'.repeat(35))).toMatchObject({ units: 70, segments: 1 });
    expect(smsEncoding('😀'.repeat(36))).toMatchObject({ units: 72, segments: 2 });
    // 134 units would be two full segments, but the emoji would straddle the first boundary
    expect(smsEncoding(`${'ā'.repeat(66)}😀${'ā'.repeat(66)}`)).toMatchObject({ units: 134, segments: 3 });
  });
});

describe('SMS estimate of a template', () => {
  it('measures the rendered text with the longest plausible values, not the raw placeholders', () => {
    // 20 letters stand in for the name, 64 for the link: 6 + 20 + 2 + 64 = 92 characters
    const estimate = estimateSms(sms('Hello {{first_name}}! {{offer_url}}'));
    expect(estimate.asWritten).toMatchObject({ encoding: 'GSM-7', units: 92, segments: 1 });
  });

  it('warns that a name with a Latvian or Cyrillic letter turns a GSM-7 text into UCS-2', () => {
    const estimate = estimateSms(sms('Hello {{first_name}}! {{offer_url}}'));
    expect(estimate.worstCase).toMatchObject({ encoding: 'UCS-2', units: 92, segments: 2 });
  });

  it('has no worse case when the text is already UCS-2 or has no personal field', () => {
    const latvian = estimateSms(sms('Sveiki, {{first_name}}! Jūsu piedāvājums'));
    expect(latvian.worstCase).toEqual(latvian.asWritten);
    const plain = estimateSms(sms('New offer: {{offer_url}}'));
    expect(plain.worstCase).toEqual(plain.asWritten);
  });

  it('counts a default outside GSM-7 as making the message UCS-2', () => {
    const estimate = estimateSms(sms('{{first_name|Dārgais klient}}, see {{offer_url}}'));
    expect(estimate.asWritten).toMatchObject({ encoding: 'UCS-2', nonGsmCharacters: ['ā'] });
  });

  it('reports the estimate per locale and warns, on the path, above three segments', () => {
    const long = `Klix: ${'a'.repeat(460)}`;
    const report = smsReport({
      sms: {
        lv: { text: 'Jauns piedāvājums: {{offer_url}}' },
        en: { text: long },
        ru: { text: `{{first_name}} ${'b'.repeat(190)}` },
      },
    });
    expect(report.sms.lv?.asWritten).toMatchObject({ encoding: 'UCS-2', segments: 2 });
    expect(report.sms.en?.asWritten).toMatchObject({ encoding: 'GSM-7', segments: 4 });
    expect(report.warnings).toEqual([
      { field: 'contents/sms/en/text', message: 'needs up to 4 SMS segments (GSM-7); each is charged' },
      {
        field: 'contents/sms/ru/text',
        message: expect.stringContaining('needs up to 4 SMS segments when a name has a letter outside GSM-7'),
      },
    ]);
  });
});
