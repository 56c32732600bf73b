import type { Actor } from '../auth/actor.js';
import { describeActor } from '../auth/actor.js';
import { keyedHash } from '../crypto/pseudonym.js';
import type { Db } from '../db/database.js';
import type { Channel, ConsentSource, Purpose } from '../domain/vocabulary.js';
import { NotFoundError } from '../errors/not-found-error.js';
import { ValidationError } from '../errors/validation-error.js';
import { type ConsentAction, type ConsentStatus, STATUS_OF } from './decision.js';

/**
 * The consent ledger (N1, N11-N13). Every change is appended to consent_events as evidence, and the
 * current state in consents is updated in the same transaction by the ordering rule of `supersedes`
 * (decision.ts), expressed here as the ON CONFLICT ... WHERE of the upsert so that concurrent writers
 * for one person serialise on the row and still end in the latest-occurring state.
 */

export interface ConsentChange {
  readonly purpose: Purpose;
  readonly channel: Channel;
  readonly action: ConsentAction;
  readonly occurredAt: Date;
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
}

export interface RecordedChange {
  readonly eventId: number;
  readonly purpose: Purpose;
  readonly channel: Channel;
  readonly action: ConsentAction;
  readonly occurredAt: Date;
  /** false when a newer event already decided the state: recorded, but it changed nothing (N13). */
  readonly applied: boolean;
}

const FUTURE_TOLERANCE_MS = 5 * 60_000;

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
      const row = await trx
        .selectFrom('notices')
        .select(['version', 'text_sha256'])
        .where('version', '=', input.noticeVersion)
        .executeTakeFirst();
      if (row) notice = { version: row.version, sha256: row.text_sha256 };
      else
        problems.push({ field: 'notice_version', message: `notice "${input.noticeVersion}" is not known` });
    }
  }
  input.changes.forEach((c, i) => {
    if (c.occurredAt.getTime() > Date.now() + FUTURE_TOLERANCE_MS) {
      problems.push({ field: `changes/${i}/occurred_at`, message: 'is in the future' });
    }
  });
  if (problems.length > 0) throw new ValidationError(problems);
  // Shares the lock an erasure takes on the person: a grant cannot land on someone being erased.
  const person = await trx
    .selectFrom('recipients')
    .select('erased_at')
    .where('id', '=', input.recipientId)
    .forShare()
    .executeTakeFirst();
  if (!person || person.erased_at !== null) throw new NotFoundError('recipient');

  const hash = (kind: 'actor' | 'ip' | 'user_agent', value: string | undefined) =>
    value === undefined ? null : keyedHash(pseudonymSecret, kind, value);
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
    const event = await trx
      .insertInto('consent_events')
      .values({
        recipient_id: input.recipientId,
        purpose: change.purpose,
        channel: change.channel,
        action: change.action,
        source: input.source,
        actor_hash: hash('actor', describeActor(input.actor)),
        notice_version: isGrant && notice ? notice.version : null,
        notice_sha256: isGrant && notice ? notice.sha256 : null,
        request_id: input.evidence.requestId ?? null,
        ip_hash: hash('ip', input.evidence.ip),
        user_agent_hash: hash('user_agent', input.evidence.userAgent),
        reason: isGrant ? null : (input.reason ?? null),
        occurred_at: change.occurredAt,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const state = await trx
      .insertInto('consents')
      .values({
        recipient_id: input.recipientId,
        purpose: change.purpose,
        channel: change.channel,
        status,
        source: input.source,
        occurred_at: change.occurredAt,
        event_id: event.id,
        notice_version: isGrant && notice ? notice.version : null,
      })
      .onConflict((oc) =>
        oc
          .columns(['recipient_id', 'purpose', 'channel'])
          .doUpdateSet((eb) => ({
            status: eb.ref('excluded.status'),
            source: eb.ref('excluded.source'),
            occurred_at: eb.ref('excluded.occurred_at'),
            event_id: eb.ref('excluded.event_id'),
            notice_version: eb.ref('excluded.notice_version'),
            updated_at: new Date(),
          }))
          .where((eb) =>
            eb.or([
              eb('excluded.occurred_at', '>', eb.ref('consents.occurred_at')),
              eb.and([
                eb('excluded.occurred_at', '=', eb.ref('consents.occurred_at')),
                eb('consents.status', '=', 'granted'),
                eb('excluded.status', '<>', 'granted'),
              ]),
            ]),
          ),
      )
      .returning('event_id')
      .executeTakeFirst();
    recorded[index] = {
      eventId: event.id,
      purpose: change.purpose,
      channel: change.channel,
      action: change.action,
      occurredAt: change.occurredAt,
      applied: state !== undefined,
    };
  }
  return recorded;
}

/** The person's consents in force or ended, per purpose and channel. */
export async function currentConsents(db: Db, recipientId: number) {
  return db
    .selectFrom('consents')
    .select(['purpose', 'channel', 'status', 'source', 'occurred_at', 'notice_version', 'updated_at'])
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
    occurredAt: Date;
    channels?: readonly Channel[];
    purposes?: readonly Purpose[];
  },
): Promise<RecordedChange[]> {
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
      occurredAt: input.occurredAt,
    })),
  });
}
