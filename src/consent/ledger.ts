import { sql } from 'kysely';
import type { Actor } from '../auth/actor.js';
import { describeActor } from '../auth/actor.js';
import { keyedHash } from '../crypto/pseudonym.js';
import type { Db } from '../db/database.js';
import type { Channel, ConsentSource, Purpose } from '../domain/vocabulary.js';
import { NotFoundError } from '../errors/not-found-error.js';
import { ValidationError } from '../errors/validation-error.js';
import { SUPERSEDES_ON_CONFLICT } from './consent.sql.js';
import { type ConsentAction, type ConsentStatus, STATUS_OF } from './decision.js';
import { NoticeCache } from './notice-cache.js';

/**
 * The consent ledger (N1, N11-N13). Every change is appended to consent_events as evidence, and the
 * current state in consents is updated in the same transaction by the ordering rule of `supersedes`
 * (decision.ts), expressed here as the ON CONFLICT ... WHERE of the upsert so that concurrent writers
 * for one person serialise on the row and still end in the state that took effect last. A change
 * takes effect at the earlier of when it occurred and when the database recorded it (`effective_at`,
 * computed by the database), so a fast client clock cannot outrank a later withdrawal.
 */

export interface ConsentChange {
  readonly purpose: Purpose;
  readonly channel: Channel;
  readonly action: ConsentAction;
  /**
   * When it happened, by someone else's word: the client's clock, the date a request was received,
   * a file's date. Absent for a change happening now (an unsubscribe, STOP, a withdrawal entered as
   * it comes in): the database's transaction time is used, the same clock as `recorded_at`, so the
   * application server's clock plays no part in ordering it.
   */
  readonly occurredAt?: Date;
}

export interface Evidence {
  readonly requestId?: string;
  readonly ip?: string;
  readonly userAgent?: string;
}

export interface RecordInput {
  readonly recipientId: number;
  readonly changes: readonly ConsentChange[];
  readonly source: ConsentSource;
  readonly actor: Actor;
  /** Required when any change is a grant: the notice the person was shown. */
  readonly noticeVersion?: string;
  readonly evidence: Evidence;
  /** A reason code for withdrawals and lapses, e.g. `relationship_closed`, `dsr_erasure`. */
  readonly reason?: string;
  /** Where the notice's hash is looked up; without one, it is read from the database. */
  readonly notices?: NoticeCache;
}

export interface RecordedChange {
  readonly eventId: number;
  readonly purpose: Purpose;
  readonly channel: Channel;
  readonly action: ConsentAction;
  readonly occurredAt: Date;
  /** When it takes effect: the earlier of `occurredAt` and when the database recorded it. */
  readonly effectiveAt: Date;
  /** false when a change taking effect later already decided the state: recorded, no effect (N13). */
  readonly applied: boolean;
}

/** How far ahead of now a change may be stamped (clock skew of the caller); later is refused. */
export const FUTURE_TOLERANCE_MS = 5 * 60_000;

/** Appends the changes and updates the current state. Call inside a transaction. */
export async function recordConsentChanges(
  trx: Db,
  pseudonymSecret: string,
  input: RecordInput,
): Promise<RecordedChange[]> {
  const problems: { field: string; message: string }[] = [];
  const needsNotice = input.changes.some((c) => c.action === 'grant');
  let notice: { version: string; sha256: string } | undefined;
  if (needsNotice) {
    if (input.noticeVersion === undefined) {
      problems.push({
        field: 'notice_version',
        message: 'is required to grant consent (the notice the person was shown)',
      });
    } else {
      const sha256 = await (input.notices ?? new NoticeCache()).sha256(trx, input.noticeVersion);
      if (sha256 !== undefined) notice = { version: input.noticeVersion, sha256 };
      else
        problems.push({ field: 'notice_version', message: `notice "${input.noticeVersion}" is not known` });
    }
  }
  input.changes.forEach((c, i) => {
    if (c.occurredAt !== undefined && c.occurredAt.getTime() > Date.now() + FUTURE_TOLERANCE_MS) {
      problems.push({ field: `changes/${i}/occurred_at`, message: 'is in the future' });
    }
  });
  if (problems.length > 0) throw new ValidationError(problems);
  const hash = (kind: 'actor' | 'ip' | 'user_agent', value: string | undefined) =>
    value === undefined ? null : keyedHash(pseudonymSecret, kind, value);
  const actorHash = hash('actor', describeActor(input.actor));
  const ipHash = hash('ip', input.evidence.ip);
  const userAgentHash = hash('user_agent', input.evidence.userAgent);
  // Rows are locked in one global order (purpose, channel) so that two requests touching the same
  // rows in different orders cannot deadlock; the sort is stable, so changes to one row keep their order.
  const order = input.changes
    .map((change, index) => ({ change, index }))
    .sort((a, b) =>
      `${a.change.purpose}/${a.change.channel}`.localeCompare(`${b.change.purpose}/${b.change.channel}`),
    );
  const recorded: RecordedChange[] = new Array(input.changes.length);
  for (const { change, index } of order) {
    const status: ConsentStatus = STATUS_OF[change.action];
    const isGrant = change.action === 'grant';
    const noticeVersion = isGrant && notice ? notice.version : null;
    const noticeSha256 = isGrant && notice ? notice.sha256 : null;
    // One statement per change: the person (FOR SHARE, the lock an erasure takes: a grant cannot land
    // on someone being erased), the evidence, and the current state by the rule of `supersedes`.
    const { rows } = await sql<{ id: number; occurred_at: Date; effective_at: Date; applied: boolean }>`
      WITH person AS (
        SELECT id FROM recipients WHERE id = ${input.recipientId} AND erased_at IS NULL FOR SHARE
      ), event AS (
        INSERT INTO consent_events (recipient_id, purpose, channel, action, source, actor_hash, notice_version,
                                    notice_sha256, request_id, ip_hash, user_agent_hash, reason, occurred_at)
        SELECT id, ${change.purpose}, ${change.channel}, ${change.action}, ${input.source}, ${actorHash},
               ${noticeVersion}, ${noticeSha256}, ${input.evidence.requestId ?? null}, ${ipHash},
               ${userAgentHash}, ${isGrant ? null : (input.reason ?? null)},
               coalesce(CAST(${change.occurredAt ?? null} AS timestamptz), now())
        FROM person
        RETURNING id, recipient_id, occurred_at, recorded_at, effective_at
      ), state AS (
        INSERT INTO consents AS c (recipient_id, purpose, channel, status, source, occurred_at, recorded_at,
                                   event_id, notice_version)
        SELECT recipient_id, ${change.purpose}, ${change.channel}, ${status}, ${input.source},
               occurred_at, recorded_at, id, ${noticeVersion}
        FROM event
        ON CONFLICT (recipient_id, purpose, channel) DO UPDATE
        SET status = excluded.status, source = excluded.source, occurred_at = excluded.occurred_at,
            recorded_at = excluded.recorded_at, event_id = excluded.event_id,
            notice_version = excluded.notice_version, updated_at = now()
        WHERE ${sql.raw(SUPERSEDES_ON_CONFLICT)}
        RETURNING 1
      )
      SELECT event.id, event.occurred_at, event.effective_at, EXISTS (SELECT 1 FROM state) AS applied
      FROM event
    `.execute(trx);
    const event = rows[0];
    if (event === undefined) throw new NotFoundError('recipient');
    recorded[index] = {
      eventId: Number(event.id),
      purpose: change.purpose,
      channel: change.channel,
      action: change.action,
      occurredAt: event.occurred_at,
      effectiveAt: event.effective_at,
      applied: event.applied,
    };
  }
  return recorded;
}

/** The person's consents in force or ended, per purpose and channel. */
export async function currentConsents(db: Db, recipientId: number) {
  return db
    .selectFrom('consents')
    .select([
      'purpose',
      'channel',
      'status',
      'source',
      'occurred_at',
      'recorded_at',
      'effective_at',
      'notice_version',
      'updated_at',
    ])
    .where('recipient_id', '=', recipientId)
    .orderBy('purpose')
    .orderBy('channel')
    .execute();
}

/** The full ledger of one person, oldest first (evidence; no identifiers but the surrogate id). */
export async function consentHistory(db: Db, recipientId: number) {
  return db
    .selectFrom('consent_events')
    .select([
      'id',
      'purpose',
      'channel',
      'action',
      'source',
      'notice_version',
      'notice_sha256',
      'request_id',
      'reason',
      'occurred_at',
      'recorded_at',
      'effective_at',
      'retain_until',
    ])
    .where('recipient_id', '=', recipientId)
    .orderBy('id')
    .execute();
}

/** Ends every grant in force (optionally only some channels/purposes) with one event each. */
export async function endAllGrants(
  trx: Db,
  pseudonymSecret: string,
  input: Omit<RecordInput, 'changes' | 'noticeVersion'> & {
    action: 'withdraw' | 'lapse';
    /** Absent: now, by the database's clock (see `ConsentChange.occurredAt`). */
    occurredAt?: Date;
    channels?: readonly Channel[];
    purposes?: readonly Purpose[];
  },
): Promise<RecordedChange[]> {
  // The person before the consent rows, the order of every other writer (the ledger's statement, the
  // import, an erasure); the other way round, a STOP racing an import of the same person deadlocked.
  await trx.selectFrom('recipients').select('id').where('id', '=', input.recipientId).forShare().execute();
  let query = trx
    .selectFrom('consents')
    .select(['purpose', 'channel'])
    .where('recipient_id', '=', input.recipientId)
    .where('status', '=', 'granted');
  if (input.channels) query = query.where('channel', 'in', input.channels);
  if (input.purposes) query = query.where('purpose', 'in', input.purposes);
  const live = await query.orderBy('purpose').orderBy('channel').forUpdate().execute();
  if (live.length === 0) return [];
  return recordConsentChanges(trx, pseudonymSecret, {
    ...input,
    changes: live.map((c) => ({
      purpose: c.purpose,
      channel: c.channel,
      action: input.action,
      ...(input.occurredAt !== undefined ? { occurredAt: input.occurredAt } : {}),
    })),
  });
}
