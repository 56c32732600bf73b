import { setFlagsFromString } from 'node:v8';

/**
 * How far V8 lets the old space grow past what the last full collection kept, for `consentcast
 * import` (docs/import.md, "Memory"). By default V8 allows up to four times the live heap when
 * collecting is cheap, and an import promotes each batch to the old space (it lives while the
 * previous one is written), so the heap swung between ~40 and ~170 MB and the peak RSS depended on
 * when V8 got round to a full collection. With 1.5 times the live heap it collects a few times more
 * often (each full collection takes ~7 ms for a live heap of ~25 MB; the process is idle most of
 * the time, waiting for PostgreSQL): measured, the peak RSS fell by ~110 MB at the same speed.
 */
export const IMPORT_HEAP_GROWING_PERCENT = 50;

/**
 * Sets V8's heap growing factor for the rest of this process (read at every full collection, so it
 * applies from the next one on). Process-wide: only for processes that run one command, never for a
 * library function.
 */
export function limitHeapGrowth(percent: number): void {
  if (!(Number.isInteger(percent) && percent > 0 && percent <= 300)) {
    throw new RangeError(`heap growing percent must be a whole number from 1 to 300, not ${percent}`);
  }
  setFlagsFromString(`--heap-growing-percent=${percent}`);
}
