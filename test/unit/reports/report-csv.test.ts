import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import {
  EXCLUSION_REASONS,
  MESSAGE_COUNTERS,
  type Report,
  SKIP_REASONS,
} from '../../../src/reports/report.js';
import { CSV_COLUMNS, reportToCsv } from '../../../src/reports/report-csv.js';

const zeros = <K extends string>(keys: readonly K[]) =>
  Object.fromEntries(keys.map((k, i) => [k, i + 1])) as Record<K, number>;

const report: Report = {
  scope: 'run',
  campaign: { id: 7, name: 'x', purpose: 'service_offers' },
  runs: [
    {
      id: 3,
      trigger: 'manual',
      status: 'completed',
      created_at: new Date(),
      started_at: null,
      finished_at: null,
    },
  ],
  generated_at: new Date(),
  audience: { considered: 100, in_audience: 90 },
  holds: { stops: [], expired_leases: { messages: 0, since: null } },
  rows: [
    {
      breakdown: 'offer',
      channel: 'email',
      offer_id: 5,
      offer_key: 'a,"quoted"\r\nkey',
      ...zeros(MESSAGE_COUNTERS),
      skipped_by_reason: zeros(SKIP_REASONS),
      excluded: null,
      excluded_by_reason: null,
    },
  ],
};

describe('report CSV (RFC 4180)', () => {
  it('quotes fields with commas, quotes and line breaks, ends records with CRLF, and leaves n/a cells empty', () => {
    const text = reportToCsv(report);
    expect(text.startsWith(`${CSV_COLUMNS.join(',')}\r\n`)).toBe(true);
    expect(text).toContain('"a,""quoted""\r\nkey"');
    const [header, row] = parse(text, { record_delimiter: '\r\n' }) as string[][];
    const cells = Object.fromEntries((header ?? []).map((h, i) => [h, row?.[i]]));
    expect(cells).toMatchObject({
      scope: 'run',
      run_id: '3',
      offer_key: 'a,"quoted"\r\nkey',
      considered: '',
    });
    for (const r of EXCLUSION_REASONS) expect(cells[`excluded_${r}`]).toBe('');
    for (const [i, c] of MESSAGE_COUNTERS.entries()) expect(cells[c]).toBe(String(i + 1));
    expect(new Set(CSV_COLUMNS).size).toBe(CSV_COLUMNS.length);
  });
});
