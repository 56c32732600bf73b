/**
 * The sign-in back-off (docs/staff.md, "Lockout"): after FAILURES_BEFORE_LOCK wrong attempts in a row
 * the account locks; each lock lasts twice the one before (5 min, 10, 20, … up to 24 h) until a
 * successful sign-in resets both counters. A pure function of the stored counters and the time, so a
 * test drives it without a clock. No library does this for stored, per-account state: rate-limit
 * plugins count per address in memory or Redis, not per account in the database of record.
 */

export const FAILURES_BEFORE_LOCK = 5;
export const FIRST_LOCK_MS = 5 * 60_000;
export const LONGEST_LOCK_MS = 24 * 60 * 60_000;

export interface LockState {
  /** Wrong attempts since the last success or the last lock. */
  readonly failedAttempts: number;
  /** Locks since the last success: each doubles the next. */
  readonly lockouts: number;
  readonly lockedUntil: Date | null;
}

export function isLocked(state: LockState, now: Date): boolean {
  return state.lockedUntil !== null && state.lockedUntil.getTime() > now.getTime();
}

/** How long the lock after `lockouts` earlier locks lasts. */
export function lockDurationMs(lockouts: number): number {
  return Math.min(LONGEST_LOCK_MS, FIRST_LOCK_MS * 2 ** Math.min(lockouts, 20));
}

/** The state after one more wrong attempt; `locked` tells whether this attempt set a lock. */
export function afterFailure(state: LockState, now: Date): LockState & { readonly locked: boolean } {
  const failedAttempts = state.failedAttempts + 1;
  if (failedAttempts < FAILURES_BEFORE_LOCK) {
    return { failedAttempts, lockouts: state.lockouts, lockedUntil: state.lockedUntil, locked: false };
  }
  return {
    failedAttempts: 0,
    lockouts: state.lockouts + 1,
    lockedUntil: new Date(now.getTime() + lockDurationMs(state.lockouts)),
    locked: true,
  };
}
