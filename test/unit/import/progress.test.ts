import { describe, expect, it } from 'vitest';
import { createProgressPrinter, formatProgress } from '../../../src/import/progress.js';

function sink(isTTY: boolean) {
  const written: string[] = [];
  const stream = { isTTY, write: (s: string) => written.push(s) > 0 } as unknown as NodeJS.WritableStream & {
    isTTY: boolean;
  };
  return { stream, written };
}

describe('import progress', () => {
  it('shows counts and rate on one line', () => {
    expect(formatProgress({ read: 12_000, imported: 11_990, rejected: 10, elapsedMs: 2_000 })).toBe(
      'import: 12,000 rows read, 11,990 imported, 10 rejected, 6,000 rows/s',
    );
  });

  it('when updates come fast, then a log gets at most one line a second, a terminal four', () => {
    let t = 0;
    const log = sink(false);
    const tty = sink(true);
    const printers = [
      createProgressPrinter(log.stream, 250, () => t),
      createProgressPrinter(tty.stream, 250, () => t),
    ];
    for (t = 0; t < 3_000; t += 10) {
      for (const p of printers) p.update({ read: t, imported: t, rejected: 0, elapsedMs: t });
    }
    for (const p of printers) p.done({ read: 3_000, imported: 3_000, rejected: 0, elapsedMs: 3_000 });
    expect(log.written).toHaveLength(4); // t = 0, 1000, 2000, then the final state
    expect(log.written.every((l) => l.endsWith('\n'))).toBe(true);
    expect(tty.written.filter((l) => l.startsWith('\r'))).toHaveLength(13);
    expect(tty.written.at(-1)).toBe('\n');
  });
});
