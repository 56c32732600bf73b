import type { Db } from '../db/database.js';
import type { JsonValue } from '../db/schema.js';

export type MessageEventType =
  | 'delivered'
  | 'undelivered'
  | 'failed'
  | 'opened'
  | 'clicked'
  | 'bounced'
  | 'complained'
  | 'unsubscribed'
  | 'replied';

/** The message a link or a provider callback refers to, with the few fields inbound handling needs. */
export async function findMessage(db: Db, messageId: number) {
  return db
    .selectFrom('messages as m')
    .innerJoin('recipients as r', 'r.id', 'm.recipient_id')
    .select([
      'm.id',
      'm.recipient_id',
      'm.purpose',
      'm.channel',
      'r.locale',
      'r.erased_at',
      'r.email_hash',
      'r.email',
    ])
    .where('m.id', '=', messageId)
    .executeTakeFirst();
}

export type InboundMessage = NonNullable<Awaited<ReturnType<typeof findMessage>>>;

/**
 * Records what happened to a message after it left (N8). `providerEventId` makes a repeated callback
 * idempotent (unique per message, type and provider event); without one every occurrence counts.
 * Returns whether a row was written.
 */
export async function recordMessageEvent(
  db: Db,
  input: {
    messageId: number;
    type: MessageEventType;
    providerEventId?: string;
    occurredAt?: Date;
    data?: Record<string, JsonValue>;
  },
): Promise<boolean> {
  const row = await db
    .insertInto('message_events')
    .values({
      message_id: input.messageId,
      type: input.type,
      provider_event_id: input.providerEventId?.slice(0, 500) ?? null,
      occurred_at: input.occurredAt ?? new Date(),
      data: JSON.stringify(input.data ?? {}),
    })
    .onConflict((oc) => oc.doNothing())
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}
