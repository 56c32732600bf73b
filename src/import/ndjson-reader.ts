import type { Readable } from 'node:stream';
import type { SourceItem } from './import-row.js';

/** A longer line is reported and skipped: it is not a person, and it must not grow memory. */
export const MAX_LINE_BYTES = 1024 * 1024;
const NEWLINE = 0x0a;

function parseLine(text: string, line: number): SourceItem | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  try {
    return { line, value: JSON.parse(trimmed) };
  } catch {
    // The parser's message quotes the text around the error: it is not passed on.
    return { line, unreadable: 'is not valid JSON' };
  }
}

/**
 * Reads NDJSON (one JSON object per line, UTF-8) as it streams in, in slices of whatever the chunk
 * held: memory stays at one chunk plus one partial line, whatever the size of the file. Blank lines
 * are skipped but counted, so line numbers are those an editor shows.
 */
export async function* readNdjson(input: Readable): AsyncGenerator<SourceItem[]> {
  let pending: Buffer | undefined;
  let line = 0;
  let overlong = false;
  let first = true;
  for await (const data of input) {
    let chunk: Buffer = typeof data === 'string' ? Buffer.from(data, 'utf8') : (data as Buffer);
    if (first && chunk.length >= 3 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) {
      chunk = chunk.subarray(3);
    }
    first = false;
    const items: SourceItem[] = [];
    let start = 0;
    for (let nl = chunk.indexOf(NEWLINE); nl !== -1; nl = chunk.indexOf(NEWLINE, start)) {
      line += 1;
      if (overlong) {
        items.push({ line, unreadable: `is longer than ${MAX_LINE_BYTES} bytes` });
        overlong = false;
      } else {
        const bytes: Buffer =
          pending === undefined
            ? chunk.subarray(start, nl)
            : Buffer.concat([pending, chunk.subarray(start, nl)]);
        const item = parseLine(bytes.toString('utf8'), line);
        if (item !== undefined) items.push(item);
      }
      pending = undefined;
      start = nl + 1;
    }
    if (start < chunk.length && !overlong) {
      const rest = chunk.subarray(start);
      const size = (pending?.length ?? 0) + rest.length;
      if (size > MAX_LINE_BYTES) {
        overlong = true;
        pending = undefined;
      } else {
        // Copied: a slice would keep the whole chunk alive.
        pending = pending === undefined ? Buffer.from(rest) : Buffer.concat([pending, rest]);
      }
    }
    if (items.length > 0) yield items;
  }
  if (overlong) {
    yield [{ line: line + 1, unreadable: `is longer than ${MAX_LINE_BYTES} bytes` }];
  } else if (pending !== undefined) {
    const item = parseLine(pending.toString('utf8'), line + 1);
    if (item !== undefined) yield [item];
  }
}
