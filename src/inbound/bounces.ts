import { audit } from '../audit/audit.js';
import type { Actor } from '../auth/actor.js';
import { endAllGrants } from '../consent/ledger.js';
import { keyedHash, normaliseEmail } from '../crypto/pseudonym.js';
import type { Db } from '../db/database.js';
import { recordMessageEvent } from './events.js';
import {
  findEmailMessage,
  findLiveRecipientByEmail,
  findLiveRecipientById,
  suppressEmail,
} from './inbound.repository.js';

/** A bounce or complaint as the mail provider reports it: of a message we sent, of an address, or both. */
export interface BounceReport {
  readonly type: 'hard_bounce' | 'soft_bounce' | 'complaint';
  readonly messageId?: number | undefined;
  readonly email?: string | undefined;
  /** When it happened, if the provider says; absent (or ahead of our clock): now. */
  readonly occurredAt?: Date | undefined;
  readonly actor: Actor;
  readonly requestId: string;
}

export interface BounceOutcome {
  /** The address is (now) suppressed. */
  readonly suppressed: boolean;
  /** E-mail consents withdrawn (complaints). */
  readonly withdrawn: number;
  /** A message event bounced/complained was written. */
  readonly eventRecorded: boolean;
  readonly recipientFound: boolean;
}

/**
 * Records a bounce or complaint in one transaction: a hard bounce or a complaint suppresses the address
 * (by its keyed hash, so the suppression outlives an erasure); a complaint also withdraws every e-mail
 * consent of the person; the message, when named, gets a `bounced` or `complained` event. Audited.
 */
export async function recordBounce(
  db: Db,
  pseudonymSecret: string,
  report: BounceReport,
): Promise<BounceOutcome> {
  const { actor, requestId } = report;
  const now = new Date();
  // The provider's date when it gave one not ahead of us (a complaint counts from when it was made).
  const dated =
    report.occurredAt !== undefined && report.occurredAt.getTime() <= now.getTime()
      ? report.occurredAt
      : undefined;
  return db.transaction().execute(async (trx) => {
    const message =
      report.messageId === undefined ? undefined : await findEmailMessage(trx, report.messageId);
    const email = report.email === undefined ? undefined : normaliseEmail(report.email);
    const person = message
      ? await findLiveRecipientById(trx, message.recipient_id)
      : email === undefined
        ? undefined
        : await findLiveRecipientByEmail(trx, email);
    const addressHash =
      email === undefined ? (person?.email_hash ?? undefined) : keyedHash(pseudonymSecret, 'email', email);

    let suppressed = false;
    if (report.type !== 'soft_bounce' && addressHash !== undefined) {
      const reason = report.type === 'complaint' ? 'complaint' : 'hard_bounce';
      await suppressEmail(trx, addressHash, reason, 'bounce_webhook');
      suppressed = true;
      await audit(trx, {
        actor,
        action: 'suppression.add',
        subjectType: 'suppression',
        ...(person ? { recipientId: person.id } : {}),
        requestId,
        reason,
        details: { channel: 'email', ...(message ? { message_id: message.id } : {}) },
      });
    }

    let withdrawn = 0;
    if (report.type === 'complaint' && person) {
      const recorded = await endAllGrants(trx, pseudonymSecret, {
        recipientId: person.id,
        action: 'withdraw',
        // the provider's date when it gave one, else now by the database's clock
        ...(dated ? { occurredAt: dated } : {}),
        channels: ['email'],
        source: 'operator',
        actor,
        evidence: { requestId },
        reason: 'complaint',
      });
      withdrawn = recorded.length;
      if (withdrawn > 0) {
        await audit(trx, {
          actor,
          action: 'consent.withdraw',
          subjectType: 'recipient',
          subjectId: person.id,
          recipientId: person.id,
          requestId,
          reason: 'complaint',
          details: { events: recorded.map((r) => `${r.action}:${r.purpose}:${r.channel}`) },
        });
      }
    }

    const eventRecorded = message
      ? await recordMessageEvent(trx, {
          messageId: message.id,
          type: report.type === 'complaint' ? 'complained' : 'bounced',
          providerEventId: `bounce:${report.type}`,
          occurredAt: dated ?? now,
          data: { kind: report.type },
        })
      : false;
    return { suppressed, withdrawn, eventRecorded, recipientFound: person !== undefined };
  });
}
