import { sql } from 'kysely';
import type { Funnel } from '../../src/campaigns/plan.js';
import type { Db } from '../../src/db/database.js';
import { CHANNELS, type Channel } from '../../src/domain/vocabulary.js';

export interface StatusCounts {
  /** channel → status → count; skipped and failed also by reason (`skipped:consent_withdrawn`). */
  readonly byChannel: Record<string, Record<string, number>>;
  readonly total: number;
  readonly open: number;
}

export async function statusCounts(db: Db, runId: number): Promise<StatusCounts> {
  const { rows } = await sql<{ channel: Channel; status: string; reason: string | null; n: number }>`
    SELECT channel, status, COALESCE(skip_reason, error_code) AS reason, count(*)::int AS n
    FROM messages WHERE run_id = ${runId} GROUP BY 1, 2, 3
  `.execute(db);
  const byChannel: Record<string, Record<string, number>> = {};
  let total = 0;
  let open = 0;
  for (const r of rows) {
    const c = byChannel[r.channel] ?? {};
    c[r.status] = (c[r.status] ?? 0) + r.n;
    if (r.status === 'skipped' && r.reason !== null)
      c[`skipped:${r.reason}`] = (c[`skipped:${r.reason}`] ?? 0) + r.n;
    byChannel[r.channel] = c;
    total += r.n;
    if (r.status === 'queued' || r.status === 'sending') open += r.n;
  }
  return { byChannel, total, open };
}

const fmt = (n: number): string => n.toLocaleString('en-US');

/**
 * Prints what is happening while the campaign sends: one line rewritten in place on a terminal,
 * a line every 10 s otherwise (logs, CI, a pipe).
 */
export function createProgress(out: NodeJS.WriteStream) {
  const tty = out.isTTY === true;
  let last = { at: Date.now(), ended: 0 };
  let printedAt = 0;
  let pending = false;
  return {
    update(counts: StatusCounts, note = ''): void {
      const now = Date.now();
      const ended = counts.total - counts.open;
      const rate = ((ended - last.ended) * 1000) / Math.max(1, now - last.at);
      last = { at: now, ended };
      if (!tty && now - printedAt < 10_000) return;
      printedAt = now;
      const parts = CHANNELS.map((ch) => {
        const c = counts.byChannel[ch] ?? {};
        return `${ch} ${fmt((c.queued ?? 0) + (c.sending ?? 0))}/${fmt(c.sent ?? 0)}/${fmt(c.skipped ?? 0)}/${fmt((c.failed ?? 0) + (c.indeterminate ?? 0))}`;
      });
      const line = `sending: ${parts.join('  ')}  (queued/sent/skipped/failed)  ${fmt(Math.round(rate))} msg/s${note ? `  ${note}` : ''}`;
      if (tty) {
        out.write(`\r\x1b[2K${line}`);
        pending = true;
      } else out.write(`${line}\n`);
    },
    done(): void {
      if (pending) out.write('\n');
      pending = false;
    },
  };
}

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((r) =>
      r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  '),
    )
    .map((line) => `  ${line}`)
    .join('\n');
}

/** The run's funnel: who was selected or left out and why, then what became of every message. */
export function formatFunnel(input: {
  readonly funnel: Funnel;
  readonly counts: StatusCounts;
  /** Accepted by the fakes, per channel (what the providers got). */
  readonly delivered: Readonly<Record<string, number>>;
}): string {
  const { funnel, counts, delivered } = input;
  const channels = [...CHANNELS];
  const row = (label: string, value: (ch: Channel) => number): string[] => {
    const values = channels.map(value);
    return [label, ...values.map(fmt), fmt(values.reduce((a, b) => a + b, 0))];
  };
  const rows: string[][] = [['', ...channels, 'total']];
  for (const [reason, byChannel] of Object.entries(funnel.excluded).sort()) {
    rows.push([
      `excluded: ${reason}`,
      ...channels.map((ch) => fmt(byChannel[ch] ?? 0)),
      fmt(Object.values(byChannel).reduce((a, b) => a + b, 0)),
    ]);
  }
  const c = (ch: Channel, key: string) => counts.byChannel[ch]?.[key] ?? 0;
  rows.push(row('queued (messages)', (ch) => funnel.messages[ch] ?? 0));
  rows.push(row('sent', (ch) => c(ch, 'sent')));
  rows.push(row('delivered (at the fakes)', (ch) => delivered[ch] ?? 0));
  const reasons = new Set<string>();
  for (const ch of channels) {
    for (const key of Object.keys(counts.byChannel[ch] ?? {}))
      if (key.startsWith('skipped:')) reasons.add(key);
  }
  for (const key of [...reasons].sort()) rows.push(row(key.replace(':', ': '), (ch) => c(ch, key)));
  rows.push(row('failed', (ch) => c(ch, 'failed')));
  rows.push(row('indeterminate', (ch) => c(ch, 'indeterminate')));
  return [
    `funnel: ${fmt(funnel.considered)} people considered, ${fmt(funnel.in_audience)} in the audience, ${fmt(funnel.selected)} selected`,
    table(rows),
  ].join('\n');
}
