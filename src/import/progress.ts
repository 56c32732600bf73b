import type { ImportProgress, ImportSummary } from './importer.js';

const number = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

export function formatCount(n: number): string {
  return number.format(n);
}

/** One line: counts and rate, no personal data. */
export function formatProgress(p: ImportProgress): string {
  const rate = p.elapsedMs > 0 ? (p.read * 1000) / p.elapsedMs : 0;
  return (
    `import: ${formatCount(p.read)} rows read, ${formatCount(p.imported)} imported, ` +
    `${formatCount(p.rejected)} rejected, ${formatCount(rate)} rows/s`
  );
}

export interface ProgressPrinter {
  update(progress: ImportProgress): void;
  /** Prints the last state (always) and ends the line. */
  done(progress: ImportProgress): void;
}

/**
 * Progress on a stream, at most once per `intervalMs`: rewritten in place on a terminal, one line
 * each time otherwise (a log file, a CI job), where it is throttled to once a second.
 */
export function createProgressPrinter(
  stream: NodeJS.WritableStream & { isTTY?: boolean },
  intervalMs = 250,
  now: () => number = () => performance.now(),
): ProgressPrinter {
  const tty = stream.isTTY === true;
  const every = tty ? intervalMs : Math.max(intervalMs, 1000);
  let last = Number.NEGATIVE_INFINITY;
  let shown = '';
  const show = (text: string): void => {
    if (tty) stream.write(`\r${text}${' '.repeat(Math.max(0, shown.length - text.length))}`);
    else stream.write(`${text}\n`);
    shown = text;
  };
  return {
    update(progress) {
      const t = now();
      if (t - last < every) return;
      last = t;
      show(formatProgress(progress));
    },
    done(progress) {
      const text = formatProgress(progress);
      if (!tty && text === shown) return;
      show(text);
      if (tty) stream.write('\n');
    },
  };
}

/** The summary for people: what was read, written and rejected, and the first problems. */
export function formatSummary(s: ImportSummary): string[] {
  const c = s.counts;
  const what = s.dryRun ? 'dry run (nothing was written)' : s.status === 'completed' ? 'done' : 'STOPPED';
  const lines = [
    `import ${what} in ${s.seconds.toFixed(1)} s: ${formatCount(s.rows.read)} rows read, ` +
      `${formatCount(s.rows.imported)} ${s.dryRun ? 'would be imported' : 'imported'}, ` +
      `${formatCount(s.rows.rejected)} rejected (${formatCount(s.rowsPerSecond)} rows/s)`,
    `  people: ${formatCount(c.peopleCreated)} created, ${formatCount(c.peopleUpdated)} updated`,
    `  devices: ${formatCount(c.devicesAdded)} added, ${formatCount(c.devicesMoved)} moved`,
    `  consent events: ${formatCount(c.consentEventsRecorded)} recorded, ` +
      `${formatCount(c.consentEventsDuplicate)} already recorded; ` +
      `${formatCount(c.consentStatesChanged)} consent states changed`,
  ];
  if (s.failure !== undefined) lines.push(`  stopped: ${s.failure}`);
  if (s.problems.length > 0) {
    lines.push('  rejected rows:');
    for (const p of s.problems)
      lines.push(`    line ${p.line}: ${p.field === null ? '' : `${p.field}: `}${p.message}`);
    if (s.problemsNotShown > 0) lines.push(`    ... and ${formatCount(s.problemsNotShown)} more problems`);
  }
  lines.push(`  import id: ${s.importId}`);
  return lines;
}
