import { describe, expect, it } from 'vitest';
import {
  afterFailure,
  FAILURES_BEFORE_LOCK,
  FIRST_LOCK_MS,
  isLocked,
  LONGEST_LOCK_MS,
  type LockState,
  lockDurationMs,
} from '../../../src/staff/lockout.js';

const NOW = new Date('2026-12-08T10:00:00Z');
const FRESH: LockState = { failedAttempts: 0, lockouts: 0, lockedUntil: null };

function fail(state: LockState, times: number, now = NOW) {
  let s: LockState & { locked?: boolean } = state;
  for (let i = 0; i < times; i += 1) s = afterFailure(s, now);
  return s;
}

describe('the sign-in back-off', () => {
  it('when four attempts failed, then the account is not locked yet', () => {
    const state = fail(FRESH, FAILURES_BEFORE_LOCK - 1);
    expect(state).toMatchObject({ failedAttempts: 4, lockouts: 0, lockedUntil: null, locked: false });
    expect(isLocked(state, NOW)).toBe(false);
  });

  it('when the fifth attempt fails, then the account locks for five minutes and the counter restarts', () => {
    const state = fail(FRESH, FAILURES_BEFORE_LOCK);
    expect(state).toMatchObject({ failedAttempts: 0, lockouts: 1, locked: true });
    expect(state.lockedUntil?.getTime()).toBe(NOW.getTime() + FIRST_LOCK_MS);
    expect(isLocked(state, NOW)).toBe(true);
    expect(isLocked(state, new Date(NOW.getTime() + FIRST_LOCK_MS))).toBe(false);
  });

  it('when locks follow one another, then each lasts twice the one before, up to a day', () => {
    expect([0, 1, 2, 3].map(lockDurationMs)).toEqual([5, 10, 20, 40].map((m) => m * 60_000));
    expect(lockDurationMs(9)).toBe(LONGEST_LOCK_MS);
    expect(lockDurationMs(10_000)).toBe(LONGEST_LOCK_MS);
    const second = fail(fail(FRESH, FAILURES_BEFORE_LOCK), FAILURES_BEFORE_LOCK);
    expect(second.lockouts).toBe(2);
    expect(second.lockedUntil?.getTime()).toBe(NOW.getTime() + 2 * FIRST_LOCK_MS);
  });
});
