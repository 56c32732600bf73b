import type { Readable } from 'node:stream';
import { type CsvError, type InfoRecord, type Options, parse } from 'csv-parse';
import { CHANNELS, type Channel, PURPOSES, type Purpose } from '../domain/vocabulary.js';
import { ImportFileError } from './import-file-error.js';
import type { SourceItem, SourceRecord } from './import-row.js';

/**
 * CSV, mapped column by column to the NDJSON shape (docs/import.md): person fields by name,
 * `attributes` as JSON text, one device from `push_token` + `push_platform`, and one consent per
 * non-empty `consent_<purpose>_<channel>` column, all at `consent_at` under `notice_version`.
 * An empty cell means "not given" (the field is left as it is).
 */

const PERSON_COLUMNS = [
  'client_number',
  'first_name',
  'last_name',
  'email',
  'phone',
  'locale',
  'time_zone',
  'birth_date',
  'personal_code',
] as const;
const OTHER_COLUMNS = ['attributes', 'push_token', 'push_platform', 'consent_at', 'notice_version'] as const;

export const MAX_RECORD_CHARS = 1024 * 1024;

interface ConsentColumn {
  readonly index: number;
  readonly name: string;
  readonly purpose: Purpose;
  readonly channel: Channel;
}

/** Where each known column sits in the header. */
export interface CsvLayout {
  readonly person: readonly (readonly [name: string, index: number])[];
  readonly columns: ReadonlyMap<string, number>;
  readonly consents: readonly ConsentColumn[];
}

function consentColumn(name: string, index: number): ConsentColumn | undefined {
  for (const purpose of PURPOSES) {
    for (const channel of CHANNELS) {
      if (name === `consent_${purpose}_${channel}`) return { index, name, purpose, channel };
    }
  }
  return undefined;
}

/** Checks the header row; problems name columns (header names are not personal data). */
export function csvLayout(
  header: readonly string[],
): { ok: true; layout: CsvLayout } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  const columns = new Map<string, number>();
  const consents: ConsentColumn[] = [];
  header.forEach((raw, index) => {
    const name = raw.trim();
    if (columns.has(name)) {
      problems.push(`column "${name}" appears twice`);
      return;
    }
    columns.set(name, index);
    if (name.startsWith('consent_') && name !== 'consent_at') {
      const column = consentColumn(name, index);
      if (column) consents.push(column);
      else
        problems.push(
          `column "${name}" is not consent_<purpose>_<channel> (purposes: ${PURPOSES.join(', ')}; channels: ${CHANNELS.join(', ')})`,
        );
    } else if (
      !(PERSON_COLUMNS as readonly string[]).includes(name) &&
      !(OTHER_COLUMNS as readonly string[]).includes(name)
    ) {
      problems.push(`column "${name}" is not known`);
    }
  });
  if (!columns.has('client_number')) problems.push('column "client_number" is missing');
  if (consents.length > 0 && !columns.has('consent_at')) {
    problems.push('consent columns need a "consent_at" column (when the consent was given or withdrawn)');
  }
  if (columns.has('push_token') !== columns.has('push_platform')) {
    problems.push('"push_token" and "push_platform" go together');
  }
  if (problems.length > 0) return { ok: false, problems };
  const person = PERSON_COLUMNS.flatMap((name) => {
    const index = columns.get(name);
    return index === undefined ? [] : [[name, index] as const];
  });
  return { ok: true, layout: { person, columns, consents } };
}

function fieldNamer(consentColumns: readonly string[]): (path: string) => string {
  return (path) => {
    const [head, index, leaf] = path.split('/');
    if (head === 'devices') return leaf === 'platform' ? 'push_platform' : 'push_token';
    if (head === 'consents' && index !== undefined) {
      if (leaf === 'occurred_at') return 'consent_at';
      if (leaf === 'notice_version') return 'notice_version';
      return consentColumns[Number(index)] ?? 'consents';
    }
    return path;
  };
}

/** One CSV record in the NDJSON shape; only non-empty cells are given. */
export function csvRecordToSource(cells: readonly string[], line: number, layout: CsvLayout): SourceRecord {
  const cell = (index: number | undefined): string | undefined => {
    const v = index === undefined ? undefined : cells[index];
    return v === undefined || v === '' ? undefined : v;
  };
  const value: Record<string, unknown> = {};
  for (const [name, index] of layout.person) {
    const v = cell(index);
    if (v !== undefined) value[name] = v;
  }
  const attributes = cell(layout.columns.get('attributes'));
  if (attributes !== undefined) {
    try {
      value.attributes = JSON.parse(attributes);
    } catch {
      value.attributes = attributes; // a string: reported as "must be a JSON object"
    }
  }
  const token = cell(layout.columns.get('push_token'));
  const platform = cell(layout.columns.get('push_platform'));
  if (token !== undefined || platform !== undefined) value.devices = [{ token, platform }];
  const at = cell(layout.columns.get('consent_at'));
  const notice = cell(layout.columns.get('notice_version'));
  const given: string[] = [];
  const consents: Record<string, unknown>[] = [];
  for (const c of layout.consents) {
    const status = cell(c.index);
    if (status === undefined) continue;
    given.push(c.name);
    consents.push({
      purpose: c.purpose,
      channel: c.channel,
      status,
      occurred_at: at,
      ...(notice !== undefined ? { notice_version: notice } : {}),
    });
  }
  if (consents.length > 0) value.consents = consents;
  return { line, value, fieldName: fieldNamer(given) };
}

const CSV_PROBLEMS: Readonly<Record<string, string>> = {
  CSV_RECORD_INCONSISTENT_COLUMNS: 'has a different number of cells than the header',
  CSV_RECORD_INCONSISTENT_FIELDS_LENGTH: 'has a different number of cells than the header',
  CSV_QUOTE_NOT_CLOSED: 'has a quote that is never closed',
  CSV_INVALID_CLOSING_QUOTE: 'has text right after a closing quote',
  CSV_MAX_RECORD_SIZE: `is longer than ${MAX_RECORD_CHARS} characters`,
};

/** Line breaks in `text` (LF, CRLF or a lone CR), and how many of them come before anything else. */
export function countBreaks(text: string): { total: number; leading: number } {
  let total = 0;
  let leading = 0;
  let content = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    const isBreak = ch === 0x0a || (ch === 0x0d && text.charCodeAt(i + 1) !== 0x0a);
    if (isBreak) {
      total += 1;
      if (!content) leading += 1;
    } else if (ch !== 0x0d) {
      content = true;
    }
  }
  return { total, leading };
}

interface CsvEntry {
  readonly cells: string[];
  readonly line: number;
}

/**
 * Reads CSV with a header row as it streams in. A record csv-parse cannot read is reported by line
 * with a fixed description (its own messages quote the text). A bad header is an `ImportFileError`:
 * no row of such a file could be read as meant.
 *
 * Line numbers are counted here from each record's raw text, in parse order (csv-parse's own count
 * drifts on CRLF inside quoted cells); after a record with a broken quote they are best effort.
 */
export async function* readCsv(input: Readable, slice = 500): AsyncGenerator<SourceItem[]> {
  let breaks = 0;
  const skipped: SourceItem[] = [];
  const options: Options<CsvEntry, unknown> = {
    bom: true,
    trim: true,
    skip_empty_lines: true,
    raw: true,
    skip_records_with_error: true,
    max_record_size: MAX_RECORD_CHARS,
    on_record: (entry: unknown, context: InfoRecord): CsvEntry => {
      const counted = countBreaks(context.raw ?? '');
      const line = breaks + counted.leading + 1;
      breaks += counted.total;
      const cells = typeof entry === 'object' && entry !== null && 'record' in entry ? entry.record : entry;
      return { cells: Array.isArray(cells) ? cells.map(String) : [], line };
    },
    on_skip: (err: CsvError | undefined, raw: string | undefined) => {
      const counted = countBreaks(raw ?? '');
      skipped.push({
        line: breaks + counted.leading + 1,
        unreadable:
          (err && CSV_PROBLEMS[err.code]) ?? `is not a valid CSV record (${err?.code ?? 'unknown'})`,
      });
      breaks += Math.max(counted.total, 1);
      return undefined;
    },
  };
  // The typings model on_record for plain records only; with `raw` the record arrives as
  // { record, raw }, which on_record unwraps above.
  const parser = parse(options as unknown as Options);
  input.on('error', (err) => parser.destroy(err));
  input.pipe(parser);
  let layout: CsvLayout | undefined;
  let items: SourceItem[] = [];
  for await (const entry of parser as AsyncIterable<CsvEntry>) {
    if (layout === undefined) {
      const checked = csvLayout(entry.cells);
      if (!checked.ok) {
        input.unpipe(parser);
        parser.destroy();
        throw new ImportFileError(
          `the CSV header (line ${entry.line}) is not usable: ${checked.problems.join('; ')}`,
        );
      }
      layout = checked.layout;
      continue;
    }
    if (skipped.length > 0) items.push(...skipped.splice(0));
    items.push(csvRecordToSource(entry.cells, entry.line, layout));
    if (items.length >= slice) {
      yield items;
      items = [];
    }
  }
  items.push(...skipped.splice(0));
  if (layout === undefined) throw new ImportFileError('the CSV file has no header row');
  if (items.length > 0) yield items;
}
