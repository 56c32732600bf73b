import {
  DELIVERY_COUNTERS,
  ENGAGEMENT_COUNTERS,
  EXCLUSION_REASONS,
  MESSAGE_COUNTERS,
  type Report,
  type ReportRow,
  SKIP_REASONS,
} from './report.js';

/**
 * A report as CSV (RFC 4180): a header row, CRLF line ends, fields quoted when they hold a comma, a
 * quote or a line break. The column order is fixed (below) and only ever extended at the end.
 * Columns that do not apply to a row are empty: audience sizes outside the total row, exclusions on
 * offer rows (a person is excluded before any offer is chosen), the run id in a campaign report.
 */

export const CSV_COLUMNS: readonly string[] = [
  'scope',
  'campaign_id',
  'run_id',
  'breakdown',
  'channel',
  'offer_id',
  'offer_key',
  'considered',
  'in_audience',
  ...DELIVERY_COUNTERS,
  ...SKIP_REASONS.map((r) => `skipped_${r}`),
  'excluded',
  ...EXCLUSION_REASONS.map((r) => `excluded_${r}`),
  ...ENGAGEMENT_COUNTERS,
];

type Cell = string | number | null;

function field(value: Cell): string {
  if (value === null) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function cells(report: Report, row: ReportRow): Record<string, Cell> {
  const out: Record<string, Cell> = {
    scope: report.scope,
    campaign_id: report.campaign.id,
    run_id: report.scope === 'run' ? (report.runs[0]?.id ?? null) : null,
    breakdown: row.breakdown,
    channel: row.channel,
    offer_id: row.offer_id,
    offer_key: row.offer_key,
    considered: row.breakdown === 'total' ? report.audience.considered : null,
    in_audience: row.breakdown === 'total' ? report.audience.in_audience : null,
    excluded: row.excluded,
  };
  for (const c of MESSAGE_COUNTERS) out[c] = row[c];
  for (const r of SKIP_REASONS) out[`skipped_${r}`] = row.skipped_by_reason[r];
  for (const r of EXCLUSION_REASONS) out[`excluded_${r}`] = row.excluded_by_reason?.[r] ?? null;
  return out;
}

export function reportToCsv(report: Report): string {
  const lines = [CSV_COLUMNS.map(field).join(',')];
  for (const row of report.rows) {
    const c = cells(report, row);
    lines.push(CSV_COLUMNS.map((name) => field(c[name] ?? null)).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}
