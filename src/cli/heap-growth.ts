import { setFlagsFromString } from 'node:v8';

/**
 * How far V8 lets the old space grow past what the last full collection kept, for `consentcast
 * import` (docs/import.md, "Memory"). By default V8 allows up to four times the live heap when
 * collecting is cheap, and an import promotes every batch to the old space (it lives while the
 * previous one is written: ~6 MB per 2,000 rows), so the heap swung between ~45 and ~170 MB and the
 * peak RSS depended on when V8 got round to a full collection. Twice the live heap means a full
 * collection a few times more often (each takes a few ms for a live heap of 25-60 MB; the process
 * mostly waits for PostgreSQL). Measured with the compiled command, 200,000 people, alternating
 * runs: peak RSS 262-272 MB by default, 185-186 MB at 100 %, 166-171 MB at 50 %; but 50 % cost
 * ~12 % more CPU and was ~2 % slower in every run, 100 % ~5 % more CPU and within the noise.
 */
export const IMPORT_HEAP_GROWING_PERCENT = 100;

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
