import type { Db } from '../db/database.js';

export type Platform = 'android' | 'ios' | 'web';

/** Registers a push token for a person; a token seen before moves to this person and is live again. */
export async function registerDevice(db: Db, recipientId: number, token: string, platform: Platform) {
  return db
    .insertInto('devices')
    .values({ recipient_id: recipientId, token, platform })
    .onConflict((oc) =>
      oc.column('token').doUpdateSet({
        recipient_id: recipientId,
        platform,
        last_seen_at: new Date(),
        invalidated_at: null,
        invalid_reason: null,
      }),
    )
    .returning(['id', 'platform', 'registered_at'])
    .executeTakeFirstOrThrow();
}

/** Forgets a token (the app signed out or the person turned push off on the device). */
export async function unregisterDevice(db: Db, recipientId: number, deviceId: number): Promise<boolean> {
  const result = await db
    .deleteFrom('devices')
    .where('id', '=', deviceId)
    .where('recipient_id', '=', recipientId)
    .executeTakeFirst();
  return result.numDeletedRows > 0n;
}

export async function listDevices(db: Db, recipientId: number) {
  return db
    .selectFrom('devices')
    .select(['id', 'platform', 'registered_at', 'last_seen_at', 'invalidated_at', 'invalid_reason'])
    .where('recipient_id', '=', recipientId)
    .orderBy('id')
    .execute();
}
