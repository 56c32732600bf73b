import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import type { LockState } from './lockout.js';
import { isStaffRole, type StaffRole } from './roles.js';

/** Queries of staff accounts; the stories that use them are admin.ts and sign-in.ts. */

export interface StaffRow {
  readonly id: number;
  readonly email: string;
  readonly name: string;
  readonly roles: readonly StaffRole[];
  readonly passwordHash: string | null;
  readonly totpSecret: string | null;
  readonly totpEnrolled: boolean;
  readonly totpLastStep: number | null;
  readonly lock: LockState;
  readonly offboarded: boolean;
}

const COLUMNS = [
  'id',
  'email',
  'name',
  'roles',
  'password_hash',
  'totp_secret',
  'totp_enrolled_at',
  'totp_last_step',
  'failed_attempts',
  'lockouts',
  'locked_until',
  'offboarded_at',
] as const;

interface Row {
  id: number;
  email: string;
  name: string;
  roles: string[];
  password_hash: string | null;
  totp_secret: string | null;
  totp_enrolled_at: Date | null;
  totp_last_step: number | null;
  failed_attempts: number;
  lockouts: number;
  locked_until: Date | null;
  offboarded_at: Date | null;
}

/** Rows become values here and nowhere else; the CHECK on roles keeps unknown roles out. */
function staffOf(row: Row): StaffRow {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    roles: row.roles.filter(isStaffRole),
    passwordHash: row.password_hash,
    totpSecret: row.totp_secret,
    totpEnrolled: row.totp_enrolled_at !== null,
    totpLastStep: row.totp_last_step,
    lock: { failedAttempts: row.failed_attempts, lockouts: row.lockouts, lockedUntil: row.locked_until },
    offboarded: row.offboarded_at !== null,
  };
}

export async function insertStaff(
  db: Db,
  input: {
    email: string;
    name: string;
    roles: readonly StaffRole[];
    createdBy: string;
    setPasswordTokenHash: string;
    setPasswordExpiresAt: Date;
  },
): Promise<number> {
  const row = await db
    .insertInto('staff')
    .values({
      email: input.email,
      name: input.name,
      roles: [...input.roles],
      created_by: input.createdBy,
      set_password_token_hash: input.setPasswordTokenHash,
      set_password_expires_at: input.setPasswordExpiresAt,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export async function emailInUse(db: Db, email: string): Promise<boolean> {
  const row = await db
    .selectFrom('staff')
    .select('id')
    .where('email', '=', email)
    .where('offboarded_at', 'is', null)
    .executeTakeFirst();
  return row !== undefined;
}

/** A live account by e-mail, locked for the rest of the transaction (sign-in counts failures). */
export async function findLiveStaffByEmailForUpdate(db: Db, email: string): Promise<StaffRow | undefined> {
  const row = await db
    .selectFrom('staff')
    .select(COLUMNS)
    .where('email', '=', email)
    .where('offboarded_at', 'is', null)
    .forUpdate()
    .executeTakeFirst();
  return row && staffOf(row);
}

export async function findStaffById(db: Db, id: number): Promise<StaffRow | undefined> {
  const row = await db.selectFrom('staff').select(COLUMNS).where('id', '=', id).executeTakeFirst();
  return row && staffOf(row);
}

export async function listStaff(db: Db) {
  return db
    .selectFrom('staff')
    .select([
      'id',
      'email',
      'name',
      'roles',
      'totp_enrolled_at',
      'locked_until',
      'created_at',
      'offboarded_at',
    ])
    .orderBy('id')
    .execute();
}

export async function setRoles(db: Db, id: number, roles: readonly StaffRole[]): Promise<boolean> {
  const result = await db
    .updateTable('staff')
    .set({ roles: [...roles] })
    .where('id', '=', id)
    .where('offboarded_at', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function setPasswordToken(
  db: Db,
  id: number,
  tokenHash: string,
  expiresAt: Date,
): Promise<boolean> {
  const result = await db
    .updateTable('staff')
    .set({ set_password_token_hash: tokenHash, set_password_expires_at: expiresAt })
    .where('id', '=', id)
    .where('offboarded_at', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Spends a set-password token: the account it named, or undefined when unknown or expired. */
export async function spendPasswordToken(
  db: Db,
  tokenHash: string,
  passwordHash: string,
  now: Date,
): Promise<number | undefined> {
  const row = await db
    .updateTable('staff')
    .set({
      password_hash: passwordHash,
      password_set_at: now,
      set_password_token_hash: null,
      set_password_expires_at: null,
      failed_attempts: 0,
      lockouts: 0,
      locked_until: null,
    })
    .where('set_password_token_hash', '=', tokenHash)
    .where('set_password_expires_at', '>', now)
    .where('offboarded_at', 'is', null)
    .returning('id')
    .executeTakeFirst();
  return row?.id;
}

export async function setPendingTotp(db: Db, id: number, secret: string): Promise<void> {
  await db
    .updateTable('staff')
    .set({ totp_secret: secret, totp_enrolled_at: null, totp_last_step: null })
    .where('id', '=', id)
    .execute();
}

export async function clearTotp(db: Db, id: number): Promise<boolean> {
  const result = await db
    .updateTable('staff')
    .set({ totp_secret: null, totp_enrolled_at: null, totp_last_step: null })
    .where('id', '=', id)
    .where('offboarded_at', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function recordLockState(db: Db, id: number, lock: LockState): Promise<void> {
  await db
    .updateTable('staff')
    .set({ failed_attempts: lock.failedAttempts, lockouts: lock.lockouts, locked_until: lock.lockedUntil })
    .where('id', '=', id)
    .execute();
}

/** A successful sign-in: counters reset, the code's step remembered (a code works once). */
export async function recordSignIn(
  db: Db,
  id: number,
  input: { totpStep: number; enrolledNow: boolean; now: Date },
): Promise<void> {
  await db
    .updateTable('staff')
    .set({
      failed_attempts: 0,
      lockouts: 0,
      locked_until: null,
      totp_last_step: input.totpStep,
      ...(input.enrolledNow ? { totp_enrolled_at: input.now } : {}),
    })
    .where('id', '=', id)
    .execute();
}

/** Offboarding: the account closes, its sessions are deleted and its API keys revoked, in one go. */
export async function closeAccount(
  db: Db,
  id: number,
  now: Date,
): Promise<{ closed: boolean; sessionsEnded: number; keysRevoked: number }> {
  const closed = await db
    .updateTable('staff')
    .set({ offboarded_at: now, set_password_token_hash: null, set_password_expires_at: null })
    .where('id', '=', id)
    .where('offboarded_at', 'is', null)
    .executeTakeFirst();
  const sessions = await db.deleteFrom('staff_sessions').where('staff_id', '=', id).executeTakeFirst();
  const keys = await db
    .updateTable('api_keys')
    .set({ revoked_at: now })
    .where('staff_id', '=', id)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return {
    closed: closed.numUpdatedRows > 0n,
    sessionsEnded: Number(sessions.numDeletedRows),
    keysRevoked: Number(keys.numUpdatedRows),
  };
}

export async function countLiveAdmins(db: Db): Promise<number> {
  const row = await db
    .selectFrom('staff')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('offboarded_at', 'is', null)
    .where(sql<boolean>`'admin' = ANY (roles)`)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
