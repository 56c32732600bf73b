import { describe, expect, it } from 'vitest';
import { canonicalTimeZone, isTimeZone, timeZoneCacheSize } from '../../../src/recipients/recipient-input.js';

describe('time zones of people (N15 quiet hours)', () => {
  it('when a zone is spelt in another case, then it is given in the IANA spelling', () => {
    expect(canonicalTimeZone('europe/riga')).toBe('Europe/Riga');
    expect(canonicalTimeZone('Europe/Riga')).toBe('Europe/Riga');
    expect(canonicalTimeZone('UTC')).toBe('UTC');
  });

  it('when a string is not a zone, then it is refused', () => {
    for (const tz of ['Mars/Olympus', '', '+03:00', 'Europe/Riga; DROP', 'x'.repeat(200)]) {
      expect(isTimeZone(tz), tz).toBe(false);
    }
  });

  it('when many invalid strings or case variants arrive, then the cache does not grow without bound', () => {
    const before = timeZoneCacheSize();
    for (let i = 0; i < 5_000; i++) expect(isTimeZone(`Nowhere/Place_${i}`)).toBe(false);
    expect(timeZoneCacheSize()).toBe(before);
    // 'europe/riga' has 2^10 case variants, all valid: remembered up to the bound only.
    for (let i = 0; i < 2 ** 10; i++) {
      const variant = [...'europe/riga'].map((c, k) => ((i >> (k % 10)) & 1 ? c.toUpperCase() : c)).join('');
      expect(canonicalTimeZone(variant)).toBe('Europe/Riga');
    }
    for (let i = 0; i < 3_000; i++) isTimeZone(i % 2 ? 'Europe/Riga' : `Etc/GMT+${i % 12}`);
    expect(timeZoneCacheSize()).toBeLessThanOrEqual(2_000);
    expect(isTimeZone('Europe/Riga')).toBe(true);
    expect(isTimeZone('Nowhere/Place_1')).toBe(false);
  });
});
