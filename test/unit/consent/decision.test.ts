import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { consentDecision, effectiveAt, foldEvents, supersedes } from '../../../src/consent/decision.js';

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

  it('lets a change take effect at the earlier of when it occurred and when it was recorded', () => {
    const server = at('2024-01-02T12:00:00Z');
    // a client two minutes fast: the grant counts from its recording
    expect(effectiveAt(at('2024-01-02T12:02:00Z'), server)).toEqual(server);
    // a request received yesterday, entered today: it counts from yesterday
    expect(effectiveAt(at('2024-01-01T09:00:00Z'), server)).toEqual(at('2024-01-01T09:00:00Z'));
  });

  it('lets a later change win and an earlier one change nothing', () => {
    const granted = { status: 'granted' as const, effectiveAt: at('2024-01-02T00:00:00Z') };
    expect(supersedes(granted, { status: 'withdrawn', effectiveAt: at('2024-01-03T00:00:00Z') })).toBe(true);
    expect(supersedes(granted, { status: 'withdrawn', effectiveAt: at('2024-01-01T00:00:00Z') })).toBe(false);
  });

  it('lets a withdrawal win a tie with a grant, but not the other way round', () => {
    const t = at('2024-01-02T00:00:00Z');
    expect(supersedes({ status: 'granted', effectiveAt: t }, { status: 'withdrawn', effectiveAt: t })).toBe(
      true,
    );
    expect(supersedes({ status: 'withdrawn', effectiveAt: t }, { status: 'granted', effectiveAt: t })).toBe(
      false,
    );
  });

  it('lets a withdrawal made a minute after a grant from a client two minutes fast end it', () => {
    const state = foldEvents([
      { action: 'grant', occurredAt: at('2024-01-02T12:02:00Z'), recordedAt: at('2024-01-02T12:00:00Z') },
      { action: 'withdraw', occurredAt: at('2024-01-02T12:01:00Z'), recordedAt: at('2024-01-02T12:01:00Z') },
    ]);
    expect(state).toEqual({ status: 'withdrawn', effectiveAt: at('2024-01-02T12:01:00Z') });
  });

  it('ends, whatever the arrival order, in the change taking effect last, withdrawals winning ties', () => {
    const minute = (m: number) => new Date(Date.UTC(2024, 0, 1, 0, m));
    const event = fc.record({
      action: fc.constantFrom('grant' as const, 'withdraw' as const),
      occurredAt: fc.integer({ min: 0, max: 20 }).map(minute),
      recordedAt: fc.integer({ min: 0, max: 20 }).map(minute),
    });
    fc.assert(
      fc.property(fc.array(event, { minLength: 1, maxLength: 30 }), (events) => {
        const effect = (e: (typeof events)[number]) =>
          Math.min(e.occurredAt.getTime(), e.recordedAt.getTime());
        const latest = Math.max(...events.map(effect));
        const atLatest = events.filter((e) => effect(e) === latest);
        const expected = atLatest.some((e) => e.action === 'withdraw') ? 'withdrawn' : 'granted';
        expect(foldEvents(events)).toEqual({ status: expected, effectiveAt: new Date(latest) });
      }),
    );
  });
});
