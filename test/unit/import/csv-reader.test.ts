import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { countBreaks, csvLayout, csvRecordToSource, readCsv } from '../../../src/import/csv-reader.js';
import { ImportFileError } from '../../../src/import/import-file-error.js';
import type { SourceItem, SourceRecord } from '../../../src/import/import-row.js';
import { validateImportRow } from '../../../src/import/validate-row.js';

async function readAll(text: string): Promise<SourceItem[]> {
  const items: SourceItem[] = [];
  for await (const slice of readCsv(Readable.from([Buffer.from(text)]))) items.push(...slice);
  return items;
}

function layoutOf(header: string[]) {
  const checked = csvLayout(header);
  if (!checked.ok) throw new Error(checked.problems.join('; '));
  return checked.layout;
}

describe('the CSV header', () => {
  it('when it names unknown or malformed columns, then every problem is listed', () => {
    const checked = csvLayout([
      'first_name',
      'nickname',
      'consent_spam_email',
      'consent_contests_sms',
      'push_token',
    ]);
    expect(checked.ok).toBe(false);
    expect(!checked.ok && checked.problems).toEqual([
      'column "nickname" is not known',
      expect.stringMatching(/^column "consent_spam_email" is not consent_<purpose>_<channel>/),
      'column "client_number" is missing',
      'consent columns need a "consent_at" column (when the consent was given or withdrawn)',
      '"push_token" and "push_platform" go together',
    ]);
  });
});

describe('mapping a CSV record', () => {
  const layout = layoutOf([
    'client_number',
    'email',
    'attributes',
    'push_token',
    'push_platform',
    'consent_service_offers_email',
    'consent_contests_sms',
    'consent_feedback_push',
    'consent_at',
    'notice_version',
  ]);

  it('when cells are filled, then it gives the NDJSON shape; empty cells are not given', () => {
    const record = csvRecordToSource(
      [
        'C1',
        '',
        '{"segment":"gold"}',
        'token-123456',
        'web',
        'granted',
        'withdrawn',
        '',
        '2024-01-01T00:00:00Z',
        'v1',
      ],
      4,
      layout,
    );
    expect(record.line).toBe(4);
    expect(record.value).toEqual({
      client_number: 'C1',
      attributes: { segment: 'gold' },
      devices: [{ token: 'token-123456', platform: 'web' }],
      consents: [
        {
          purpose: 'service_offers',
          channel: 'email',
          status: 'granted',
          occurred_at: '2024-01-01T00:00:00Z',
          notice_version: 'v1',
        },
        {
          purpose: 'contests',
          channel: 'sms',
          status: 'withdrawn',
          occurred_at: '2024-01-01T00:00:00Z',
          notice_version: 'v1',
        },
      ],
    });
  });

  it('when cells are invalid, then problems name the CSV columns, once each', () => {
    const record: SourceRecord = csvRecordToSource(
      ['C1', 'x', 'not json', 'token-123456', 'nokia', 'yes', 'granted', 'granted', 'yesterday', 'v9'],
      9,
      layout,
    );
    const result = validateImportRow(record, new Map([['v1', 'a'.repeat(64)]]));
    expect(!result.ok && result.problems.map((p) => `${p.line} ${p.field}`)).toEqual([
      '9 attributes',
      '9 email',
      '9 push_platform',
      '9 consent_service_offers_email',
      '9 consent_at',
      '9 notice_version',
    ]);
  });
});

describe('reading CSV', () => {
  it('when records span lines, or lines are blank or end in CRLF, then line numbers stay true', async () => {
    const numbers = (items: SourceItem[]) =>
      items.map((i) => [i.line, 'value' in i ? (i.value as { client_number: string }).client_number : i]);
    const crlf = 'client_number,first_name\r\nC1,Anna\r\n\r\nC2,"Multi\r\nline"\r\n\r\nC3,Ilze\r\n';
    expect(numbers(await readAll(crlf))).toEqual([
      [2, 'C1'],
      [4, 'C2'],
      [7, 'C3'],
    ]);
    const lf = 'client_number,first_name\nC4,"a\nb\nc"\n\n\nC5,Zane';
    expect(numbers(await readAll(lf))).toEqual([
      [2, 'C4'],
      [7, 'C5'],
    ]);
  });

  it('when a record has the wrong number of cells, then it is reported by line, the rest read', async () => {
    const items = await readAll('client_number,first_name\nC1,Anna\nC2,Ilze,janis@example.lv\nC3,Zane\n');
    expect(items).toContainEqual({ line: 3, unreadable: 'has a different number of cells than the header' });
    expect(items.filter((i) => 'value' in i).map((i) => i.line)).toEqual([2, 4]);
    expect(JSON.stringify(items)).not.toContain('janis@example.lv');
  });

  it('when the header is unusable, then the file is refused as a whole', async () => {
    await expect(readAll('client_number,nickname\nC1,x\n')).rejects.toBeInstanceOf(ImportFileError);
    await expect(readAll('')).rejects.toThrow(/no header row/);
  });

  it('counts line breaks of every kind', () => {
    expect(countBreaks('\r\n\n"a\r\nb"\r')).toEqual({ total: 4, leading: 2 });
  });
});
