import type { ControllerIdentity } from '../config/config.js';
import type { Db } from '../db/database.js';
import { ConflictError } from '../errors/conflict-error.js';
import { ValidationError } from '../errors/validation-error.js';
import type { RecipientInput } from '../recipients/recipient-input.js';
import { closeDsrRequest, type DsrRequestRow, lockDsrRequest, requireDsrRequest } from './dsr.repository.js';
import { type DsrKind, nextStatus } from './dsr.rules.js';
import { type ErasureCounts, erasePerson } from './erase.js';
import { EXPORT_SCHEMA_VERSION, exportPersonalData, type SubjectExport } from './export.js';
import { liftRestriction, objectToMarketing, objectToProfiling, restrictProcessing } from './markers.js';
import type { DsrOperationContext } from './operation-context.js';
import { rectifyPerson } from './rectify.js';
import { refuseTransition, type Who } from './register.js';

/** What executing a request did, by kind (a value for the caller to show; the register keeps a summary). */
export type ExecutionResult =
  | { readonly kind: 'access' | 'portability'; readonly document: SubjectExport }
  | { readonly kind: 'rectify'; readonly changed: string[] }
  | { readonly kind: 'erase'; readonly erased: ErasureCounts }
  | { readonly kind: 'restrict' | 'lift_restriction' | 'object_profiling'; readonly changed: boolean }
  | { readonly kind: 'object_marketing'; readonly changed: boolean; readonly withdrawn: number };

export interface ExecuteInput extends Who {
  readonly dsrRequestId: number;
  /** Why, for the audit log; defaults to the request's reference. */
  readonly reason?: string;
  /** The corrected fields; only for a rectify request. */
  readonly fields?: RecipientInput;
  /** The field path of `fields` in the caller's input, for errors. */
  readonly fieldsPath?: string;
}

export interface ExecuteDeps {
  readonly pseudonymSecret: string;
  readonly controller: ControllerIdentity;
}

/** The register's one-line outcome: counts and field names, never values. */
export function outcomeOf(result: ExecutionResult): string {
  switch (result.kind) {
    case 'access':
    case 'portability':
      return `exported (schema version ${result.document.schema_version})`;
    case 'rectify':
      return result.changed.length > 0
        ? `rectified: ${result.changed.join(', ')}`
        : 'rectified: no field differed from what is held';
    case 'erase':
      return `erased: ${Object.entries(result.erased)
        .map(([what, n]) => `${what} ${n}`)
        .join(', ')}`;
    case 'object_marketing':
      return `objection to direct marketing recorded; ${result.withdrawn} consents withdrawn`;
    case 'restrict':
    case 'lift_restriction':
    case 'object_profiling':
      return `${result.kind.replace('_', ' ')}: ${result.changed ? 'done' : 'already in effect'}`;
  }
}

function checkFields(kind: DsrKind, input: ExecuteInput): void {
  const field = input.fieldsPath ?? 'fields';
  if (kind === 'rectify' && input.fields === undefined) {
    throw new ValidationError([{ field, message: 'a rectify request needs the corrected fields' }]);
  }
  if (kind !== 'rectify' && input.fields !== undefined) {
    throw new ValidationError([{ field, message: `only a rectify request carries fields, not ${kind}` }]);
  }
}

async function perform(
  trx: Db,
  deps: ExecuteDeps,
  ctx: DsrOperationContext,
  request: DsrRequestRow,
  recipientId: number,
  input: ExecuteInput,
): Promise<ExecutionResult> {
  switch (request.kind) {
    case 'access':
    case 'portability':
      // Closed first, so that the document shows the request as answered.
      await closeDsrRequest(trx, request.id, {
        status: 'completed',
        outcome: `exported (schema version ${EXPORT_SCHEMA_VERSION})`,
        handledBy: ctx.actor.id,
      });
      return {
        kind: request.kind,
        document: await exportPersonalData(trx, ctx, recipientId, deps.controller),
      };
    case 'rectify':
      return {
        kind: 'rectify',
        ...(await rectifyPerson(trx, ctx, recipientId, input.fields ?? {}, input.fieldsPath ?? 'fields')),
      };
    case 'erase':
      return { kind: 'erase', erased: await erasePerson(trx, ctx, recipientId) };
    case 'restrict':
      return { kind: 'restrict', ...(await restrictProcessing(trx, ctx, recipientId)) };
    case 'lift_restriction':
      return { kind: 'lift_restriction', ...(await liftRestriction(trx, ctx, recipientId)) };
    case 'object_marketing':
      return { kind: 'object_marketing', ...(await objectToMarketing(trx, ctx, recipientId)) };
    case 'object_profiling':
      return { kind: 'object_profiling', ...(await objectToProfiling(trx, ctx, recipientId)) };
  }
}

/**
 * Executes a request: performs the operation of its kind and completes it, in one transaction with
 * its audit entry. Refused (409) while the requester's identity is unchecked, for every kind: an
 * export discloses as much as an erasure destroys.
 */
export async function executeDsrRequest(
  db: Db,
  deps: ExecuteDeps,
  input: ExecuteInput,
): Promise<{ request: DsrRequestRow; result: ExecutionResult }> {
  return db.transaction().execute(async (trx) => {
    const request = await lockDsrRequest(trx, input.dsrRequestId);
    const next = nextStatus(request.status, 'executed');
    if (!next.ok) refuseTransition(next);
    checkFields(request.kind, input);
    if (request.recipient_id === null) {
      throw new ConflictError('the request names no person to act on', 'dsr_without_person');
    }
    const ctx: DsrOperationContext = {
      pseudonymSecret: deps.pseudonymSecret,
      actor: input.actor,
      reason: input.reason ?? `data-subject request ${request.id} (${request.kind})`,
      dsrRequestId: request.id,
      ...(input.requestId !== undefined ? { requestId: input.requestId } : {}),
    };
    const result = await perform(trx, deps, ctx, request, request.recipient_id, input);
    if (result.kind !== 'access' && result.kind !== 'portability') {
      await closeDsrRequest(trx, request.id, {
        status: 'completed',
        outcome: outcomeOf(result),
        handledBy: input.actor.id,
      });
    }
    return { request: await requireDsrRequest(trx, request.id), result };
  });
}
