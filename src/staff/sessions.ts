import { randomBytes } from 'node:crypto';
import { sha256Hex } from '../crypto/pseudonym.js';
import type { Db } from '../db/database.js';
import { isStaffRole, type StaffRole } from './roles.js';

/**
 * Server-side sessions (docs/staff.md, "Sessions"). The cookie carries 32 random bytes; the table
 * holds only their SHA-256, so a copy of the table opens no session. Every request reads its row
 * (one primary-key lookup joined to the account): deleting the row — sign-out, offboarding, a TOTP
 * reset — ends the session on the very next request, which a signed cookie could not do.
 */

export interface SessionLimits {
  readonly idleMs: number;
  readonly absoluteMs: number;
}

export interface LiveSession {
  readonly idHash: string;
  readonly staffId: number;
  readonly roles: readonly StaffRole[];
}

/** last_seen_at is written at most once a minute: the idle limit is exact to a minute. */
const TOUCH_EVERY_MS = 60_000;

export function sessionHashOf(token: string): string {
  return sha256Hex(token);
}

export async function startSession(
  db: Db,
  staffId: number,
  limits: SessionLimits,
  now: Date,
): Promise<{ token: string; idHash: string; expiresAt: Date }> {
  const token = randomBytes(32).toString('base64url');
  const idHash = sessionHashOf(token);
  const expiresAt = new Date(now.getTime() + limits.absoluteMs);
  await db
    .insertInto('staff_sessions')
    .values({ id_hash: idHash, staff_id: staffId, created_at: now, last_seen_at: now, expires_at: expiresAt })
    .execute();
  return { token, idHash, expiresAt };
}

/** The live session a cookie names, or undefined (unknown, idle too long, past its end, offboarded). */
export async function findLiveSession(
  db: Db,
  token: string,
  limits: SessionLimits,
  now: Date,
): Promise<LiveSession | undefined> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return undefined;
  const idHash = sessionHashOf(token);
  const row = await db
    .selectFrom('staff_sessions as s')
    .innerJoin('staff as st', 'st.id', 's.staff_id')
    .select(['s.staff_id', 's.last_seen_at', 'st.roles'])
    .where('s.id_hash', '=', idHash)
    .where('st.offboarded_at', 'is', null)
    .where('s.expires_at', '>', now)
    .where('s.last_seen_at', '>', new Date(now.getTime() - limits.idleMs))
    .executeTakeFirst();
  if (!row) return undefined;
  if (now.getTime() - row.last_seen_at.getTime() > TOUCH_EVERY_MS) {
    await db.updateTable('staff_sessions').set({ last_seen_at: now }).where('id_hash', '=', idHash).execute();
  }
  return { idHash, staffId: row.staff_id, roles: row.roles.filter(isStaffRole) };
}

export async function endSession(db: Db, idHash: string): Promise<void> {
  await db.deleteFrom('staff_sessions').where('id_hash', '=', idHash).execute();
}

export async function endSessionsOf(db: Db, staffId: number): Promise<number> {
  const result = await db.deleteFrom('staff_sessions').where('staff_id', '=', staffId).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/**
 * Deletes sessions past either limit (maintenance, every 30 s). They are refused anyway; this keeps
 * the table to the live ones.
 */
export async function pruneEndedSessions(db: Db, limits: SessionLimits, now: Date): Promise<number> {
  const result = await db
    .deleteFrom('staff_sessions')
    .where((eb) =>
      eb.or([eb('expires_at', '<=', now), eb('last_seen_at', '<=', new Date(now.getTime() - limits.idleMs))]),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
