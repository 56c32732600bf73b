import type { Actor } from '../auth/actor.js';
import type { Db } from '../db/database.js';
import type { JsonValue } from '../db/schema.js';

/** One entry of the append-only audit log (N14, N16). Details never carry personal data. */
export interface AuditEntry {
  readonly actor: Actor;
  /** dotted lower-case verb, e.g. `consent.withdraw`, `dsr.erase`, `api_key.create` */
  readonly action: string;
  readonly subjectType: string;
  readonly subjectId?: string | number;
  readonly recipientId?: number;
  readonly requestId?: string;
  readonly reason?: string;
  readonly details?: Record<string, JsonValue>;
}

export async function audit(db: Db, entry: AuditEntry): Promise<void> {
  await db
    .insertInto('audit_log')
    .values({
      actor_type: entry.actor.type,
      actor_id: entry.actor.id,
      action: entry.action,
      subject_type: entry.subjectType,
      subject_id: entry.subjectId === undefined ? null : String(entry.subjectId),
      recipient_id: entry.recipientId ?? null,
      request_id: entry.requestId ?? null,
      reason: entry.reason ?? null,
      details: JSON.stringify(entry.details ?? {}),
    })
    .execute();
}

export interface AuditQuery {
  readonly recipientId?: number;
  readonly action?: string;
  readonly actorId?: string;
  readonly from?: Date;
  readonly to?: Date;
  /** keyset: entries with id greater than this */
  readonly after?: number;
  readonly limit: number;
}

/** Search for the data-protection officer; keyset-paged by id. */
export async function searchAudit(db: Db, q: AuditQuery) {
  let query = db.selectFrom('audit_log').selectAll().orderBy('id').limit(q.limit);
  if (q.recipientId !== undefined) query = query.where('recipient_id', '=', q.recipientId);
  if (q.action !== undefined)
    query = query.where('action', 'like', `${q.action.replace(/[%_\\]/g, '\\$&')}%`);
  if (q.actorId !== undefined) query = query.where('actor_id', '=', q.actorId);
  if (q.from !== undefined) query = query.where('occurred_at', '>=', q.from);
  if (q.to !== undefined) query = query.where('occurred_at', '<', q.to);
  if (q.after !== undefined) query = query.where('id', '>', q.after);
  return query.execute();
}
