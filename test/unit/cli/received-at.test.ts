import { describe, expect, it } from 'vitest';
import { parseReceivedAt } from '../../../src/cli/commands/consent.js';

describe('consent withdraw --received-at', () => {
  const now = Date.parse('2026-12-07T12:00:00Z');

  it('takes an ISO 8601 date and time with a zone, and leaves now to the database when absent', () => {
    expect(parseReceivedAt('2026-12-06T09:00:00+02:00', now)).toEqual({
      ok: true,
      at: new Date('2026-12-06T07:00:00Z'),
    });
    expect(parseReceivedAt('2026-12-07T12:00:00Z', now)).toEqual({ ok: true, at: new Date(now) });
    expect(parseReceivedAt(undefined, now)).toEqual({ ok: true });
  });

  it('refuses a date without a time or zone, and an impossible date, naming the option', () => {
    for (const bad of ['2026-12-06', '2026-12-06T09:00', 'yesterday', '2026-02-30T09:00:00Z', '1700000000']) {
      const parsed = parseReceivedAt(bad, now);
      expect(parsed.ok, bad).toBe(false);
      if (!parsed.ok)
        expect(parsed.problem).toMatch(/^--received-at: ".*" is not a date and time with a zone/);
    }
  });

  it('refuses a receipt in the future', () => {
    expect(parseReceivedAt('2026-12-07T12:00:01Z', now)).toEqual({
      ok: false,
      problem: '--received-at: 2026-12-07T12:00:01Z is in the future; give when the request was received',
    });
  });
});
