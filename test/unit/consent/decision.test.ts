import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { consentDecision, foldEvents, supersedes } from '../../../src/consent/decision.js';

const none = { erased: false, objected: false, restricted: false };

describe('the consent decision (N1)', () => {
  it('says no by default: no state is no consent', () => {
    expect(consentDecision(undefined, none)).toEqual({ allowed: false, reason: 'no_consent' });
    expect(consentDecision('withdrawn', none)).toEqual({ allowed: false, reason: 'no_consent' });
    expect(consentDecision('lapsed', none)).toEqual({ allowed: false, reason: 'no_consent' });
    expect(consentDecision('granted', none)).toEqual({ allowed: true });
  });

  it('lets markers override a grant: erased before objected before restricted', () => {
    expect(consentDecision('granted', { erased: true, objected: true, restricted: true })).toEqual({
      allowed: false,
      reason: 'erased',
    });
    expect(consentDecision('granted', { ...none, objected: true, restricted: true })).toEqual({
      allowed: false,
      reason: 'objected',
    });
    expect(consentDecision('granted', { ...none, restricted: true })).toEqual({
      allowed: false,
      reason: 'restricted',
    });
  });
});

describe('the ordering of consent events (N13)', () => {
  const at = (iso: string) => new Date(iso);

  it('lets a later event win and an earlier one change nothing', () => {
    const granted = { status: 'granted' as const, occurredAt: at('2024-01-02T00:00:00Z') };
    expect(supersedes(granted, { status: 'withdrawn', occurredAt: at('2024-01-03T00:00:00Z') })).toBe(true);
    expect(supersedes(granted, { status: 'withdrawn', occurredAt: at('2024-01-01T00:00:00Z') })).toBe(false);
  });

  it('lets a withdrawal win a tie with a grant, but not the other way round', () => {
    const t = at('2024-01-02T00:00:00Z');
    expect(supersedes({ status: 'granted', occurredAt: t }, { status: 'withdrawn', occurredAt: t })).toBe(
      true,
    );
    expect(supersedes({ status: 'withdrawn', occurredAt: t }, { status: 'granted', occurredAt: t })).toBe(
      false,
    );
  });

  it('ends, whatever the arrival order, in the latest-occurring event with withdrawals winning ties', () => {
    const event = fc.record({
      action: fc.constantFrom('grant' as const, 'withdraw' as const),
      occurredAt: fc.integer({ min: 0, max: 20 }).map((m) => new Date(Date.UTC(2024, 0, 1, 0, m))),
    });
    fc.assert(
      fc.property(fc.array(event, { minLength: 1, maxLength: 30 }), (events) => {
        const latest = Math.max(...events.map((e) => e.occurredAt.getTime()));
        const atLatest = events.filter((e) => e.occurredAt.getTime() === latest);
        const expected = atLatest.some((e) => e.action === 'withdraw') ? 'withdrawn' : 'granted';
        expect(foldEvents(events)?.status).toBe(expected);
      }),
    );
  });
});
