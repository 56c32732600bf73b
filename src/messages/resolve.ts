import { sql } from 'kysely';
import { audit } from '../audit/audit.js';
import { type Actor, describeActor } from '../auth/actor.js';
import type { Db } from '../db/database.js';
import type { MessagesTable } from '../db/schema.js';
import type { Channel } from '../domain/vocabulary.js';
import { ConflictError } from '../errors/conflict-error.js';
import { NotFoundError } from '../errors/not-found-error.js';

/**
 * An operator's resolution of an `indeterminate` message: the provider may or may not have taken it
 * (a lost answer, a worker killed mid-send), so it is never sent again; someone who checked with the
 * provider records `sent` or `not_sent`. The status stays `indeterminate` (the CHECK ties a resolution
 * to it) and `resolution` carries the answer; a late worker record cannot overwrite it (record.ts only
 * changes unresolved rows). Reports count `resolved_sent` as sent.
 */

export type Resolution = NonNullable<MessagesTable['resolution']>;
export const RESOLUTIONS: readonly Resolution[] = ['sent', 'not_sent'];
export const MESSAGE_STATUSES = ['queued', 'sending', 'sent', 'skipped', 'failed', 'indeterminate'] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];

export interface ResolvedMessage {
  readonly id: number;
  readonly campaign_id: number;
  readonly run_id: number;
  readonly channel: Channel;
  readonly status: string;
  readonly resolution: Resolution;
  readonly resolved_by: string;
}

export async function resolveIndeterminate(
  db: Db,
  input: { messageId: number; outcome: Resolution; reason: string; actor: Actor; requestId?: string },
): Promise<ResolvedMessage> {
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .updateTable('messages')
      .set({ resolution: input.outcome, resolved_by: describeActor(input.actor) })
      .where('id', '=', input.messageId)
      .where('status', '=', 'indeterminate')
      .where('resolution', 'is', null)
      .returning(['id', 'campaign_id', 'run_id', 'recipient_id', 'channel', 'status'])
      .executeTakeFirst();
    if (!row) {
      const current = await trx
        .selectFrom('messages')
        .select(['status', 'resolution'])
        .where('id', '=', input.messageId)
        .executeTakeFirst();
      if (!current) throw new NotFoundError('message');
      throw new ConflictError(
        current.resolution !== null
          ? `message ${input.messageId} was already resolved as ${current.resolution}`
          : `message ${input.messageId} is ${current.status}: only an indeterminate message can be resolved`,
        'not_indeterminate',
      );
    }
    await trx
      .insertInto('message_events')
      .values({
        message_id: row.id,
        type: 'resolved',
        provider_event_id: 'operator',
        data: JSON.stringify({ outcome: input.outcome }),
      })
      .onConflict((oc) => oc.doNothing())
      .execute();
    await audit(trx, {
      actor: input.actor,
      action: 'message.resolve',
      subjectType: 'message',
      subjectId: row.id,
      recipientId: row.recipient_id,
      ...(input.requestId !== undefined ? { requestId: input.requestId } : {}),
      reason: input.reason,
      details: {
        outcome: input.outcome,
        campaign_id: row.campaign_id,
        run_id: row.run_id,
        channel: row.channel,
      },
    });
    return {
      id: row.id,
      campaign_id: row.campaign_id,
      run_id: row.run_id,
      channel: row.channel,
      status: row.status,
      resolution: input.outcome,
      resolved_by: describeActor(input.actor),
    };
  });
}

export interface MessageListQuery {
  readonly status: MessageStatus;
  readonly campaignId?: number;
  readonly runId?: number;
  /** Indeterminate only: true → resolved ones, false → those still waiting for an operator. */
  readonly resolved?: boolean;
  /** keyset: messages with a greater id */
  readonly after?: number;
  readonly limit: number;
}

/** Messages by status, ids and metadata only (no person, no content); keyset-paged by id. */
export async function listMessages(db: Db, q: MessageListQuery) {
  let query = db
    .selectFrom('messages')
    .select([
      'id',
      'campaign_id',
      'run_id',
      'channel',
      'purpose',
      'offer_id',
      'status',
      'skip_reason',
      'attempts',
      'error_code',
      'provider_message_id',
      'resolution',
      'resolved_by',
      'created_at',
      'claimed_at',
      'finished_at',
    ])
    .where('status', '=', q.status)
    .orderBy('id')
    .limit(q.limit);
  if (q.campaignId !== undefined) query = query.where('campaign_id', '=', q.campaignId);
  if (q.runId !== undefined) query = query.where('run_id', '=', q.runId);
  if (q.resolved !== undefined)
    query = query.where(q.resolved ? sql<boolean>`resolution IS NOT NULL` : sql<boolean>`resolution IS NULL`);
  if (q.after !== undefined) query = query.where('id', '>', q.after);
  return query.execute();
}
