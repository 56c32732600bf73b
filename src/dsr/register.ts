import { audit } from '../audit/audit.js';
import type { Actor } from '../auth/actor.js';
import type { Db } from '../db/database.js';
import { ConflictError } from '../errors/conflict-error.js';
import { ValidationError } from '../errors/validation-error.js';
import { isErasedClientNumber, requireRecipient } from '../recipients/recipients.repository.js';
import {
  closeDsrRequest,
  type DsrRequestRow,
  insertDsrRequest,
  lockDsrRequest,
  recordIdentityCheck,
  requireDsrRequest,
} from './dsr.repository.js';
import { type DsrKind, dueAt, nextStatus, type ReceivedVia } from './dsr.rules.js';

/**
 * The register of data-subject requests (N14): a request is received, the requester's identity is
 * checked, and it is executed (execute.ts) or rejected. Every step is audited in its transaction.
 */

const CLOCK_SKEW_MS = 5 * 60_000;

export interface Who {
  readonly actor: Actor;
  /** The HTTP request id or CLI run id, for the audit log. */
  readonly requestId?: string;
}

function who(w: Who) {
  return { actor: w.actor, ...(w.requestId !== undefined ? { requestId: w.requestId } : {}) };
}

export function refuseTransition(refusal: { code: string; message: string }): never {
  throw new ConflictError(refusal.message, refusal.code);
}

export async function createDsrRequest(
  db: Db,
  pseudonymSecret: string,
  input: Who & {
    clientNumber: string;
    kind: DsrKind;
    receivedVia: ReceivedVia;
    receivedAt?: Date;
    /** The field path of `received_at` in the caller's input, for the error. */
    receivedAtField?: string;
  },
): Promise<DsrRequestRow> {
  const receivedAt = input.receivedAt ?? new Date();
  if (receivedAt.getTime() > Date.now() + CLOCK_SKEW_MS) {
    throw new ValidationError([
      { field: input.receivedAtField ?? 'received_at', message: 'is in the future' },
    ]);
  }
  if (await isErasedClientNumber(db, pseudonymSecret, input.clientNumber)) {
    throw new ConflictError(
      'this client number belongs to a person whose data was erased; only the identifier-free consent evidence remains',
      'recipient_erased',
    );
  }
  return db.transaction().execute(async (trx) => {
    const person = await requireRecipient(trx, input.clientNumber);
    const id = await insertDsrRequest(trx, {
      recipientId: person.id,
      kind: input.kind,
      receivedVia: input.receivedVia,
      receivedAt,
      dueAt: dueAt(receivedAt),
    });
    await audit(trx, {
      ...who(input),
      action: 'dsr.request.create',
      subjectType: 'dsr_request',
      subjectId: id,
      recipientId: person.id,
      details: { kind: input.kind, received_via: input.receivedVia },
    });
    return requireDsrRequest(trx, id);
  });
}

/**
 * Records who checked the requester's identity and when; the request is then in progress. An
 * operation that discloses or changes data runs only after this.
 */
export async function recordDsrIdentityCheck(
  db: Db,
  input: Who & { dsrRequestId: number; checkedBy: string; checkedAt?: Date; checkedAtField?: string },
): Promise<DsrRequestRow> {
  const checkedAt = input.checkedAt ?? new Date();
  if (checkedAt.getTime() > Date.now() + CLOCK_SKEW_MS) {
    throw new ValidationError([{ field: input.checkedAtField ?? 'checked_at', message: 'is in the future' }]);
  }
  return db.transaction().execute(async (trx) => {
    const request = await lockDsrRequest(trx, input.dsrRequestId);
    const next = nextStatus(request.status, 'identity_checked');
    if (!next.ok) refuseTransition(next);
    if (checkedAt.getTime() < request.received_at.getTime()) {
      throw new ValidationError([
        { field: input.checkedAtField ?? 'checked_at', message: 'is before the request was received' },
      ]);
    }
    await recordIdentityCheck(trx, request.id, {
      checkedBy: input.checkedBy,
      checkedAt,
      status: next.status,
    });
    await audit(trx, {
      ...who(input),
      action: 'dsr.request.identity_check',
      subjectType: 'dsr_request',
      subjectId: request.id,
      ...(request.recipient_id !== null ? { recipientId: request.recipient_id } : {}),
      details: { kind: request.kind },
    });
    return requireDsrRequest(trx, request.id);
  });
}

/** Closes an open request without acting on it (e.g. identity not confirmed, manifestly unfounded). */
export async function rejectDsrRequest(
  db: Db,
  input: Who & { dsrRequestId: number; reason: string },
): Promise<DsrRequestRow> {
  return db.transaction().execute(async (trx) => {
    const request = await lockDsrRequest(trx, input.dsrRequestId);
    const next = nextStatus(request.status, 'rejected');
    if (!next.ok) refuseTransition(next);
    await closeDsrRequest(trx, request.id, {
      status: 'rejected',
      outcome: input.reason,
      handledBy: input.actor.id,
    });
    await audit(trx, {
      ...who(input),
      action: 'dsr.request.reject',
      subjectType: 'dsr_request',
      subjectId: request.id,
      ...(request.recipient_id !== null ? { recipientId: request.recipient_id } : {}),
      reason: input.reason,
      details: { kind: request.kind },
    });
    return requireDsrRequest(trx, request.id);
  });
}
