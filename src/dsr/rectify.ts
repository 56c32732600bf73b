import { audit } from '../audit/audit.js';
import type { Db } from '../db/database.js';
import type { JsonValue } from '../db/schema.js';
import { ValidationError } from '../errors/validation-error.js';
import {
  type RecipientFields,
  type RecipientInput,
  validateRecipientInput,
} from '../recipients/recipient-input.js';
import { recipientColumns } from '../recipients/recipients.repository.js';
import {
  auditBase,
  type DsrOperationContext,
  type LivePerson,
  lockLivePerson,
  requestRef,
} from './operation-context.js';

/** Canonical JSON (sorted keys), so that a re-ordered attributes object is not counted as a change. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The names of the fields whose value differs from what is held. */
export function changedFields(person: LivePerson, fields: RecipientFields): string[] {
  return (Object.keys(fields) as (keyof RecipientFields)[]).filter(
    (name) => canonical(fields[name]) !== canonical(person[name]),
  );
}

/**
 * Rectification (N14): updates the given profile fields, validated and normalised as on every other
 * door (`validateRecipientInput`); `null` clears a field, `attributes` replaces the whole set. The audit
 * log names the fields that changed, never their old or new values. Call inside a transaction.
 */
export async function rectifyPerson(
  trx: Db,
  ctx: DsrOperationContext,
  recipientId: number,
  input: RecipientInput,
  fieldPrefix = 'fields',
): Promise<{ changed: string[] }> {
  const checked = validateRecipientInput(input, fieldPrefix);
  if (!checked.ok) throw new ValidationError(checked.problems);
  if (Object.keys(checked.value).length === 0) {
    throw new ValidationError([{ field: fieldPrefix, message: 'name at least one field to rectify' }]);
  }
  const person = await lockLivePerson(trx, recipientId);
  const changed = changedFields(person, checked.value);
  if (changed.length > 0) {
    await trx
      .updateTable('recipients')
      .set({ ...recipientColumns(checked.value, ctx.pseudonymSecret), updated_at: new Date() })
      .where('id', '=', recipientId)
      .execute();
  }
  await audit(trx, {
    ...auditBase(ctx, recipientId),
    action: 'dsr.rectify',
    details: { ...requestRef(ctx), fields: changed as JsonValue[] },
  });
  return { changed };
}
