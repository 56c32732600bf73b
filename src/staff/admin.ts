import { randomBytes } from 'node:crypto';
import { type AuditEntry, audit } from '../audit/audit.js';
import type { Actor } from '../auth/actor.js';
import { sha256Hex } from '../crypto/pseudonym.js';
import type { Db } from '../db/database.js';
import { ConflictError } from '../errors/conflict-error.js';
import { NotFoundError } from '../errors/not-found-error.js';
import { ValidationError } from '../errors/validation-error.js';
import type { StaffRole } from './roles.js';
import { endSessionsOf } from './sessions.js';
import { normaliseEmail } from './sign-in.js';
import {
  clearTotp,
  closeAccount,
  countLiveAdmins,
  emailInUse,
  insertStaff,
  setPasswordToken,
  setRoles,
} from './staff.repository.js';

/**
 * What admins (and, for the first admin, an operator at the CLI) do to staff accounts. Each change
 * and its audit entry commit together; audit details name staff by id and roles, never by e-mail.
 */

const EMAIL = /^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/;

export interface CreatedStaff {
  readonly id: number;
  /** One-time: the person sets their password with it (POST /v1/auth/set-password). Shown once. */
  readonly setPasswordToken: string;
  readonly tokenExpiresAt: Date;
}

function newToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: sha256Hex(token) };
}

function checkRoles(roles: readonly StaffRole[]): void {
  if (roles.length === 0) throw new ValidationError([{ field: 'body/roles', message: 'at least one role' }]);
}

/** The audit row of an admin action on a staff account (who did it; never a secret). */
async function auditStaff(
  trx: Parameters<typeof audit>[0],
  actor: Actor,
  action: string,
  id: number,
  requestId: string | undefined,
  details?: AuditEntry['details'],
): Promise<void> {
  await audit(trx, {
    actor,
    action,
    subjectType: 'staff',
    subjectId: id,
    ...(requestId !== undefined ? { requestId } : {}),
    ...(details !== undefined ? { details } : {}),
  });
}

/** Refuses a change that would leave nobody able to manage staff. */
async function requireAnAdminLeft(trx: Parameters<typeof countLiveAdmins>[0]): Promise<void> {
  if ((await countLiveAdmins(trx)) === 0)
    throw new ConflictError(
      'this would leave no admin; give another person the admin role first',
      'last_admin',
    );
}

export async function createStaff(
  db: Db,
  input: { email: string; name: string; roles: readonly StaffRole[]; requestId?: string },
  actor: Actor,
  tokenHours: number,
  now: Date,
): Promise<CreatedStaff> {
  const email = normaliseEmail(input.email);
  const name = input.name.trim();
  const problems = [
    ...(EMAIL.test(email) && email.length <= 254
      ? []
      : [{ field: 'body/email', message: 'is not an e-mail address' }]),
    ...(name.length >= 1 && name.length <= 200
      ? []
      : [{ field: 'body/name', message: 'must be 1-200 characters' }]),
  ];
  if (problems.length > 0) throw new ValidationError(problems);
  checkRoles(input.roles);
  const { token, hash } = newToken();
  const tokenExpiresAt = new Date(now.getTime() + tokenHours * 3_600_000);
  const id = await db.transaction().execute(async (trx) => {
    if (await emailInUse(trx, email))
      throw new ConflictError('a live account already has this e-mail address', 'staff_exists');
    const created = await insertStaff(trx, {
      email,
      name,
      roles: input.roles,
      createdBy: `${actor.type}:${actor.id}`,
      setPasswordTokenHash: hash,
      setPasswordExpiresAt: tokenExpiresAt,
    });
    await auditStaff(trx, actor, 'staff.create', created, input.requestId, { roles: [...input.roles] });
    return created;
  });
  return { id, setPasswordToken: token, tokenExpiresAt };
}

/** A new one-time set-password token (a forgotten password): the old password stops working when it is spent. */
export async function issuePasswordToken(
  db: Db,
  id: number,
  actor: Actor,
  tokenHours: number,
  now: Date,
  requestId?: string,
): Promise<{ setPasswordToken: string; tokenExpiresAt: Date }> {
  const { token, hash } = newToken();
  const tokenExpiresAt = new Date(now.getTime() + tokenHours * 3_600_000);
  await db.transaction().execute(async (trx) => {
    if (!(await setPasswordToken(trx, id, hash, tokenExpiresAt))) throw new NotFoundError('staff member');
    await auditStaff(trx, actor, 'staff.password.token', id, requestId);
  });
  return { setPasswordToken: token, tokenExpiresAt };
}

export async function changeRoles(
  db: Db,
  id: number,
  roles: readonly StaffRole[],
  actor: Actor,
  requestId?: string,
): Promise<void> {
  checkRoles(roles);
  await db.transaction().execute(async (trx) => {
    if (!(await setRoles(trx, id, roles))) throw new NotFoundError('staff member');
    await requireAnAdminLeft(trx);
    await auditStaff(trx, actor, 'staff.roles.change', id, requestId, { roles: [...roles] });
  });
}

/** A lost device: the second factor is cleared and the person's sessions end; they enrol again. */
export async function resetTotp(db: Db, id: number, actor: Actor, requestId?: string): Promise<void> {
  await db.transaction().execute(async (trx) => {
    if (!(await clearTotp(trx, id))) throw new NotFoundError('staff member');
    const sessionsEnded = await endSessionsOf(trx, id);
    await auditStaff(trx, actor, 'staff.totp.reset', id, requestId, { sessions_ended: sessionsEnded });
  });
}

/**
 * Offboarding: the account closes, and its sessions and API keys stop working on the very next
 * request (sessions are deleted, keys revoked; neither is cached).
 */
export async function offboardStaff(
  db: Db,
  id: number,
  actor: Actor,
  now: Date,
  requestId?: string,
): Promise<{ sessionsEnded: number; keysRevoked: number }> {
  return db.transaction().execute(async (trx) => {
    const result = await closeAccount(trx, id, now);
    if (!result.closed) throw new NotFoundError('staff member');
    await requireAnAdminLeft(trx);
    await auditStaff(trx, actor, 'staff.offboard', id, requestId, {
      sessions_ended: result.sessionsEnded,
      keys_revoked: result.keysRevoked,
    });
    return { sessionsEnded: result.sessionsEnded, keysRevoked: result.keysRevoked };
  });
}
