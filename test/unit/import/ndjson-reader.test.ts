import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { SourceItem } from '../../../src/import/import-row.js';
import { MAX_LINE_BYTES, readNdjson } from '../../../src/import/ndjson-reader.js';

async function readAll(chunks: readonly (string | Buffer)[]): Promise<SourceItem[]> {
  const items: SourceItem[] = [];
  for await (const slice of readNdjson(Readable.from(chunks.map((c) => Buffer.from(c)))))
    items.push(...slice);
  return items;
}

describe('reading NDJSON', () => {
  it('when lines are blank or end in CRLF, then rows keep the line numbers an editor shows', async () => {
    const items = await readAll(['\ufeff{"a":1}\r\n\r\n  \n{"a":2}\n{"a":3}']);
    expect(items).toEqual([
      { line: 1, value: { a: 1 } },
      { line: 4, value: { a: 2 } },
      { line: 5, value: { a: 3 } },
    ]);
  });

  it('when chunks split a line, even inside a multi-byte character, then the line is whole', async () => {
    const text = Buffer.from('{"name":"Bērziņš"}\n{"name":"Иванов"}\n');
    const chunks = Array.from({ length: text.length }, (_, i) => text.subarray(i, i + 1));
    expect(await readAll(chunks)).toEqual([
      { line: 1, value: { name: 'Bērziņš' } },
      { line: 2, value: { name: 'Иванов' } },
    ]);
  });

  it('when a line is not JSON, then it is reported by line without quoting it', async () => {
    const items = await readAll(['{"a":1}\n{"email": "janis@example.lv",\n{"a":3}\n']);
    expect(items).toEqual([
      { line: 1, value: { a: 1 } },
      { line: 2, unreadable: 'is not valid JSON' },
      { line: 3, value: { a: 3 } },
    ]);
  });

  it('when a line is longer than the limit, then it is reported and skipped without being held', async () => {
    const long = `{"x":"${'y'.repeat(MAX_LINE_BYTES)}"}`;
    const items = await readAll(['{"a":1}\n', long.slice(0, 600_000), long.slice(600_000), '\n{"a":2}\n']);
    expect(items).toEqual([
      { line: 1, value: { a: 1 } },
      { line: 2, unreadable: `is longer than ${MAX_LINE_BYTES} bytes` },
      { line: 3, value: { a: 2 } },
    ]);
  });
});
