import { describe, expect, it } from 'vitest';
import { isQuiet, parseFrequencyCap, parseQuietHours } from '../../../src/config/windows.js';

describe('quiet hours and frequency caps', () => {
  it('treats a window that crosses midnight as quiet on both sides of it', () => {
    const parsed = parseQuietHours('21:00-09:00');
    if (!parsed.ok) throw new Error(parsed.error);
    expect(isQuiet(parsed.value, 21 * 60)).toBe(true);
    expect(isQuiet(parsed.value, 3 * 60)).toBe(true);
    expect(isQuiet(parsed.value, 9 * 60)).toBe(false);
    expect(isQuiet(parsed.value, 12 * 60)).toBe(false);
  });

  it('treats a same-day window as quiet only inside it, and an empty window as never quiet', () => {
    const day = parseQuietHours('12:00-13:30');
    if (!day.ok) throw new Error(day.error);
    expect(isQuiet(day.value, 12 * 60 + 59)).toBe(true);
    expect(isQuiet(day.value, 13 * 60 + 30)).toBe(false);
    const none = parseQuietHours('00:00-00:00');
    if (!none.ok) throw new Error(none.error);
    expect(isQuiet(none.value, 0)).toBe(false);
  });

  it('parses caps in hours and days and refuses nonsense', () => {
    expect(parseFrequencyCap('2/7d')).toEqual({ ok: true, value: { max: 2, windowHours: 168 } });
    expect(parseFrequencyCap('1/24h')).toEqual({ ok: true, value: { max: 1, windowHours: 24 } });
    expect(parseFrequencyCap('0/7d').ok).toBe(false);
    expect(parseFrequencyCap('2 per week').ok).toBe(false);
    expect(parseQuietHours('24:00-09:00').ok).toBe(false);
  });
});
