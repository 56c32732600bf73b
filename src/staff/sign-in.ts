import { audit } from '../audit/audit.js';
import { type Actor, staffActor } from '../auth/actor.js';
import { sha256Hex } from '../crypto/pseudonym.js';
import type { Db } from '../db/database.js';
import { ValidationError } from '../errors/validation-error.js';
import { afterFailure, isLocked } from './lockout.js';
import { decoyHash, hashPassword, passwordWeakness, verifyPassword } from './password.js';
import { endSessionsOf, type SessionLimits, startSession } from './sessions.js';

/** What sign-in needs besides the database: session lifetimes and the key that seals TOTP secrets. */
export interface SignInSettings {
  readonly limits: SessionLimits;
  readonly totpKey: Buffer;
}

import {
  findLiveStaffByEmailForUpdate,
  recordLockState,
  recordSignIn,
  type StaffRow,
  setPendingTotp,
  spendPasswordToken,
} from './staff.repository.js';
import { checkTotp, newTotpSecret, openTotpSecret, sealTotpSecret, totpUri } from './totp.js';

/**
 * Signing in (docs/staff.md, "Signing in"): e-mail, password and TOTP code in one request, so a
 * failure never says which factor was wrong. The first sign-in after enrolment (POST /v1/auth/totp/enrol)
 * confirms the new secret with its first code. Every attempt is audited with the staff id — never
 * the e-mail address, the password or the code — and wrong attempts feed the lockout (lockout.ts).
 * The account's row is locked for the attempt, so parallel guesses are counted one after another.
 */

export type SignInOutcome =
  | {
      readonly ok: true;
      readonly staffId: number;
      readonly token: string;
      readonly idHash: string;
      readonly expiresAt: Date;
    }
  | { readonly ok: false; readonly reason: 'invalid' | 'locked' | 'enrolment_required' };

export interface SignInInput {
  readonly email: string;
  readonly password: string;
  readonly code: string;
  readonly requestId?: string;
}

/** Attempts on an address that names no live account: audited without the address. */
const UNKNOWN_ACCOUNT: Actor = { type: 'system', id: 'sign-in' };

export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

type FactorCheck =
  | { readonly ok: true; readonly staff: StaffRow }
  | { readonly ok: false; readonly reason: 'invalid' | 'locked' };

/** The password step shared by sign-in and enrolment: the account, or a counted, audited failure. */
async function checkPassword(
  trx: Db,
  email: string,
  password: string,
  now: Date,
  requestId: string | undefined,
): Promise<FactorCheck> {
  const staff = await findLiveStaffByEmailForUpdate(trx, normaliseEmail(email));
  const base = { subjectType: 'staff', ...(requestId !== undefined ? { requestId } : {}) };
  if (!staff) {
    await verifyPassword(password, await decoyHash());
    await audit(trx, {
      ...base,
      actor: UNKNOWN_ACCOUNT,
      action: 'staff.sign_in.failure',
      details: { reason: 'unknown_account' },
    });
    return { ok: false, reason: 'invalid' };
  }
  const actor = staffActor(staff.id);
  if (isLocked(staff.lock, now)) {
    await audit(trx, {
      ...base,
      actor,
      subjectId: staff.id,
      action: 'staff.sign_in.refused',
      details: { reason: 'locked' },
    });
    return { ok: false, reason: 'locked' };
  }
  const matches = staff.passwordHash !== null && (await verifyPassword(password, staff.passwordHash));
  if (!matches) return countFailure(trx, staff, 'password', now, requestId);
  return { ok: true, staff };
}

async function countFailure(
  trx: Db,
  staff: StaffRow,
  factor: 'password' | 'totp',
  now: Date,
  requestId: string | undefined,
): Promise<{ readonly ok: false; readonly reason: 'invalid' }> {
  const next = afterFailure(staff.lock, now);
  await recordLockState(trx, staff.id, next);
  const base = {
    actor: staffActor(staff.id),
    subjectType: 'staff',
    subjectId: staff.id,
    ...(requestId !== undefined ? { requestId } : {}),
  };
  await audit(trx, { ...base, action: 'staff.sign_in.failure', details: { reason: factor } });
  if (next.locked && next.lockedUntil !== null) {
    await audit(trx, {
      ...base,
      action: 'staff.sign_in.lockout',
      details: { lockouts: next.lockouts, locked_until: next.lockedUntil.toISOString() },
    });
  }
  return { ok: false, reason: 'invalid' };
}

export async function signIn(
  db: Db,
  input: SignInInput,
  settings: SignInSettings,
  now: Date,
): Promise<SignInOutcome> {
  return db.transaction().execute(async (trx): Promise<SignInOutcome> => {
    const checked = await checkPassword(trx, input.email, input.password, now, input.requestId);
    if (!checked.ok) return checked;
    const { staff } = checked;
    const secret = staff.totpSecret === null ? undefined : openTotpSecret(staff.totpSecret, settings.totpKey);
    // A secret this key cannot open (PSEUDONYM_SECRET changed) is as good as none: enrol again.
    if (secret === undefined) return { ok: false, reason: 'enrolment_required' };
    const step = await checkTotp(secret, input.code, staff.totpLastStep, now);
    if (step === undefined) return countFailure(trx, staff, 'totp', now, input.requestId);
    const enrolledNow = !staff.totpEnrolled;
    await recordSignIn(trx, staff.id, { totpStep: step, enrolledNow, now });
    const session = await startSession(trx, staff.id, settings.limits, now);
    const base = {
      actor: staffActor(staff.id),
      subjectType: 'staff',
      subjectId: staff.id,
      ...(input.requestId !== undefined ? { requestId: input.requestId } : {}),
    };
    if (enrolledNow) await audit(trx, { ...base, action: 'staff.totp.enrol' });
    await audit(trx, { ...base, action: 'staff.sign_in.success' });
    return { ok: true, staffId: staff.id, ...session };
  });
}

export type EnrolOutcome =
  | { readonly ok: true; readonly staffId: number; readonly otpauthUri: string; readonly secret: string }
  | { readonly ok: false; readonly reason: 'invalid' | 'locked' | 'already_enrolled' };

/**
 * Starts TOTP enrolment for an account without a confirmed second factor (new, or reset by an
 * admin): a new secret, shown this once; the next sign-in with one of its codes confirms it. An
 * enrolled account cannot be re-enrolled with the password alone.
 */
export async function startTotpEnrolment(
  db: Db,
  input: { email: string; password: string; requestId?: string },
  totpKey: Buffer,
  now: Date,
): Promise<EnrolOutcome> {
  return db.transaction().execute(async (trx): Promise<EnrolOutcome> => {
    const checked = await checkPassword(trx, input.email, input.password, now, input.requestId);
    if (!checked.ok) return checked;
    const { staff } = checked;
    if (staff.totpEnrolled) return { ok: false, reason: 'already_enrolled' };
    const secret = newTotpSecret();
    await setPendingTotp(trx, staff.id, sealTotpSecret(secret, totpKey));
    await audit(trx, {
      actor: staffActor(staff.id),
      action: 'staff.totp.enrol_start',
      subjectType: 'staff',
      subjectId: staff.id,
      ...(input.requestId !== undefined ? { requestId: input.requestId } : {}),
    });
    return { ok: true, staffId: staff.id, otpauthUri: totpUri(secret, staff.id), secret };
  });
}

/** Sets a password with a one-time token (from `staff create-admin` or an admin); the token is spent. */
export async function setPasswordWithToken(
  db: Db,
  input: { token: string; password: string; requestId?: string },
  now: Date,
): Promise<number | undefined> {
  const weakness = passwordWeakness(input.password);
  if (weakness !== undefined) throw new ValidationError([{ field: 'body/password', message: weakness }]);
  const passwordHash = await hashPassword(input.password);
  return db.transaction().execute(async (trx) => {
    const staffId = await spendPasswordToken(trx, sha256Hex(input.token), passwordHash, now);
    if (staffId === undefined) return undefined;
    // A new password (a forgotten or exposed one) ends the sessions the old one opened.
    const sessionsEnded = await endSessionsOf(trx, staffId);
    await audit(trx, {
      actor: staffActor(staffId),
      action: 'staff.password.set',
      subjectType: 'staff',
      subjectId: staffId,
      ...(input.requestId !== undefined ? { requestId: input.requestId } : {}),
      details: { sessions_ended: sessionsEnded },
    });
    return staffId;
  });
}
