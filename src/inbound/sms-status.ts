import { sql } from 'kysely';
import { INVALID_NUMBER_CODES } from '../channels/sms/classify.js';
import type { Db } from '../db/database.js';
import { recordMessageEvent } from './events.js';

/**
 * Twilio's delivery error codes that mean the number will not get an SMS, in addition to the
 * Messages API's invalid-number codes (https://www.twilio.com/docs/api/errors): 30005 unknown
 * destination handset (the number does not exist, or no longer), 30006 landline or unreachable
 * carrier. 30003 (handset switched off, out of coverage) is temporary and does not suppress.
 */
export const UNREACHABLE_NUMBER_CODES: ReadonlySet<number> = new Set([...INVALID_NUMBER_CODES, 30005, 30006]);

export type SmsFinalStatus = 'delivered' | 'undelivered' | 'failed';

export interface SmsStatusResult {
  /** An SMS message with this provider id exists. */
  readonly found: boolean;
  /** The message moved (sent → delivered, or sent → failed); false when it had already ended. */
  readonly moved: boolean;
  readonly suppressed: boolean;
}

/** Twilio's ErrorCode is a number; anything else is not kept. */
function errorCodeOf(raw: string | undefined): number | undefined {
  return raw !== undefined && /^\d{1,10}$/.test(raw) ? Number(raw) : undefined;
}

/**
 * A Twilio status callback for one of our SMS (N8): records the event (once per sid and status) and
 * moves the message on. Only a `sent` message that has not yet heard its end moves: `delivered`
 * stamps `delivered_at`; `undelivered` / `failed` make it `failed` with the carrier's error code. The
 * first final status wins, so callbacks arriving out of order never move a message backwards (a late
 * `sent` or `queued` is ignored by the caller; a late `failed` after `delivered` is only recorded).
 * An error code meaning the number cannot get SMS suppresses it, as an invalid number at send time
 * does (a keyed hash: it survives erasure).
 */
export async function applySmsStatus(
  db: Db,
  input: { sid: string; status: SmsFinalStatus; errorCode?: string },
): Promise<SmsStatusResult> {
  const code = errorCodeOf(input.errorCode);
  return db.transaction().execute(async (trx) => {
    const message = await trx
      .selectFrom('messages')
      .select(['id', 'recipient_id', 'status', 'delivered_at'])
      .where('channel', '=', 'sms')
      .where('provider_message_id', '=', input.sid)
      .forUpdate()
      .executeTakeFirst();
    if (!message) return { found: false, moved: false, suppressed: false };
    await recordMessageEvent(trx, {
      messageId: message.id,
      type: input.status,
      providerEventId: `${input.sid}:${input.status}`,
      ...(code !== undefined ? { data: { error_code: String(code) } } : {}),
    });
    if (message.status !== 'sent' || message.delivered_at !== null) {
      return { found: true, moved: false, suppressed: false };
    }
    if (input.status === 'delivered') {
      await trx
        .updateTable('messages')
        .set({ delivered_at: new Date() })
        .where('id', '=', message.id)
        .execute();
      return { found: true, moved: true, suppressed: false };
    }
    await trx
      .updateTable('messages')
      .set({
        status: 'failed',
        error_code: code === undefined ? input.status : String(code),
        error_detail: `twilio status callback: ${input.status}`,
        finished_at: new Date(),
      })
      .where('id', '=', message.id)
      .execute();
    if (code === undefined || !UNREACHABLE_NUMBER_CODES.has(code)) {
      return { found: true, moved: true, suppressed: false };
    }
    await sql`
      INSERT INTO suppressions (channel, address_hash, reason, source)
      SELECT 'sms', r.phone_hash, 'invalid_number', 'twilio_status_callback'
      FROM recipients r WHERE r.id = ${message.recipient_id}::bigint AND r.phone_hash IS NOT NULL
      ON CONFLICT DO NOTHING
    `.execute(trx);
    return { found: true, moved: true, suppressed: true };
  });
}
