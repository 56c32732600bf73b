import { describe, expect, it } from 'vitest';
import { IMPORT_HEAP_GROWING_PERCENT, limitHeapGrowth } from '../../../src/cli/heap-growth.js';

describe('heap growth limit of the import command', () => {
  it('when the percent is a whole number from 1 to 300, then V8 takes it', () => {
    expect(() => limitHeapGrowth(IMPORT_HEAP_GROWING_PERCENT)).not.toThrow();
  });

  it('when the percent is zero, negative, fractional or huge, then it is refused before V8 sees it', () => {
    for (const bad of [0, -5, 12.5, 301, Number.NaN]) {
      expect(() => limitHeapGrowth(bad)).toThrow(RangeError);
    }
  });
});
