import { audit } from '../audit/audit.js';
import type { Actor } from '../auth/actor.js';
import type { Db } from '../db/database.js';
import type { Channel, Purpose } from '../domain/vocabulary.js';
import { ValidationError } from '../errors/validation-error.js';
import { requireRecipient } from '../recipients/recipients.repository.js';
import { endAllGrants, type RecordedChange } from './ledger.js';

export interface OperatorWithdrawal {
  readonly clientNumber: string;
  /**
   * When the person's request reached us (e-mail, letter, branch); never in the future. Absent: it
   * is being entered as it arrives, now by the database's clock.
   */
  readonly receivedAt?: Date;
  /** A reason code, e.g. `email_request`. */
  readonly reason: string;
  readonly actor: Actor;
  /** Only these purposes / channels; all when absent. */
  readonly purposes?: readonly Purpose[];
  readonly channels?: readonly Channel[];
}

/**
 * N12: a person may withdraw by e-mail. Support staff record the request (`consentcast consent
 * withdraw`); it ends every matching grant in force at once (N13) and counts from when the request
 * was received, not from when it was entered: a grant the person made after that instant stays in
 * force (the later change wins), one made before it ends (docs/data-model.md, "When a consent change
 * takes effect"). Source `operator`; audited as `consent.withdraw`.
 */
export async function recordOperatorWithdrawal(
  db: Db,
  pseudonymSecret: string,
  input: OperatorWithdrawal,
): Promise<RecordedChange[]> {
  if (input.receivedAt !== undefined && input.receivedAt.getTime() > Date.now()) {
    throw new ValidationError([{ field: 'received_at', message: 'is in the future' }]);
  }
  return db.transaction().execute(async (trx) => {
    const person = await requireRecipient(trx, input.clientNumber);
    const changes = await endAllGrants(trx, pseudonymSecret, {
      recipientId: person.id,
      action: 'withdraw',
      ...(input.receivedAt !== undefined ? { occurredAt: input.receivedAt } : {}),
      ...(input.purposes?.length ? { purposes: input.purposes } : {}),
      ...(input.channels?.length ? { channels: input.channels } : {}),
      source: 'operator',
      actor: input.actor,
      evidence: {},
      reason: input.reason,
    });
    await audit(trx, {
      actor: input.actor,
      action: 'consent.withdraw',
      subjectType: 'recipient',
      subjectId: person.id,
      recipientId: person.id,
      reason: input.reason,
      details: {
        ...(input.receivedAt !== undefined ? { received_at: input.receivedAt.toISOString() } : {}),
        withdrawn: changes.map((c) => `${c.purpose}:${c.channel}${c.applied ? '' : ':superseded'}`),
      },
    });
    return changes;
  });
}
