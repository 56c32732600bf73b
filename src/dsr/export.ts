import { audit } from '../audit/audit.js';
import type { ControllerIdentity } from '../config/config.js';
import type { Db } from '../db/database.js';
import type { JsonValue } from '../db/schema.js';
import { auditBase, type DsrOperationContext, lockLivePerson, requestRef } from './operation-context.js';

/**
 * Access and portability (N14): one machine-readable JSON document with everything the store holds
 * about the person. Sections are named after the tables they come from and rows keep the column
 * names, so the field names are as stable as the schema; `schema_version` changes when they change.
 */

export const EXPORT_FORMAT = 'consentcast.subject-export';
export const EXPORT_SCHEMA_VERSION = 1;

type JsonRow = { [column: string]: JsonValue };

export interface SubjectExport {
  readonly format: typeof EXPORT_FORMAT;
  readonly schema_version: typeof EXPORT_SCHEMA_VERSION;
  readonly generated_at: string;
  readonly controller: JsonRow;
  /** The `recipients` row: every column, the personal code and birth date included (their own data). */
  readonly profile: JsonRow;
  readonly devices: JsonRow[];
  /** Current state per purpose and channel. */
  readonly consents: JsonRow[];
  /** The full consent ledger (grants, withdrawals, lapses) with its evidence fields. */
  readonly consent_events: JsonRow[];
  /** With the offer and campaign named, and `match`: why the offer was chosen (N9). */
  readonly messages: JsonRow[];
  readonly message_events: JsonRow[];
  /** Runs the person was left out of, and why. */
  readonly run_exclusions: JsonRow[];
  /** With the list's name. */
  readonly audience_list_members: JsonRow[];
  readonly dsr_requests: JsonRow[];
  /** Who did what with the person's data (N16). */
  readonly audit_log: JsonRow[];
}

/** Sections holding rows (every key of the document but the header and the profile). */
export const EXPORT_SECTIONS = [
  'devices',
  'consents',
  'consent_events',
  'messages',
  'message_events',
  'run_exclusions',
  'audience_list_members',
  'dsr_requests',
  'audit_log',
] as const;

function toJson(value: unknown): JsonValue {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(toJson);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'object') {
    const out: JsonRow = {};
    for (const [k, v] of Object.entries(value)) out[k] = toJson(v);
    return out;
  }
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  return String(value);
}

function rows(values: readonly object[]): JsonRow[] {
  return values.map((v) => toJson(v) as JsonRow);
}

/** Reads the document; writes nothing. Run it in a transaction for one consistent picture. */
export async function buildSubjectExport(
  db: Db,
  recipientId: number,
  controller: ControllerIdentity,
): Promise<SubjectExport> {
  const profile = await db
    .selectFrom('recipients')
    .selectAll()
    .where('id', '=', recipientId)
    .executeTakeFirst();
  const [
    devices,
    consents,
    consentEvents,
    messages,
    messageEvents,
    exclusions,
    memberships,
    requests,
    auditLog,
  ] = await Promise.all([
    db.selectFrom('devices').selectAll().where('recipient_id', '=', recipientId).orderBy('id').execute(),
    db
      .selectFrom('consents')
      .selectAll()
      .where('recipient_id', '=', recipientId)
      .orderBy('purpose')
      .orderBy('channel')
      .execute(),
    db
      .selectFrom('consent_events')
      .selectAll()
      .where('recipient_id', '=', recipientId)
      .orderBy('id')
      .execute(),
    db
      .selectFrom('messages')
      .innerJoin('offers', 'offers.id', 'messages.offer_id')
      .innerJoin('campaigns', 'campaigns.id', 'messages.campaign_id')
      .selectAll('messages')
      .select(['offers.key as offer_key', 'offers.name as offer_name', 'campaigns.name as campaign_name'])
      .where('messages.recipient_id', '=', recipientId)
      .orderBy('messages.id')
      .execute(),
    db
      .selectFrom('message_events')
      .innerJoin('messages', 'messages.id', 'message_events.message_id')
      .selectAll('message_events')
      .where('messages.recipient_id', '=', recipientId)
      .orderBy('message_events.id')
      .execute(),
    db
      .selectFrom('run_exclusions')
      .innerJoin('campaign_runs', 'campaign_runs.id', 'run_exclusions.run_id')
      .selectAll('run_exclusions')
      .select(['campaign_runs.campaign_id', 'campaign_runs.created_at as run_created_at'])
      .where('run_exclusions.recipient_id', '=', recipientId)
      .orderBy('run_exclusions.run_id')
      .orderBy('run_exclusions.channel')
      .execute(),
    db
      .selectFrom('audience_list_members')
      .innerJoin('audience_lists', 'audience_lists.id', 'audience_list_members.list_id')
      .selectAll('audience_list_members')
      .select('audience_lists.name as list_name')
      .where('audience_list_members.recipient_id', '=', recipientId)
      .orderBy('audience_list_members.list_id')
      .execute(),
    db.selectFrom('dsr_requests').selectAll().where('recipient_id', '=', recipientId).orderBy('id').execute(),
    db.selectFrom('audit_log').selectAll().where('recipient_id', '=', recipientId).orderBy('id').execute(),
  ]);
  return {
    format: EXPORT_FORMAT,
    schema_version: EXPORT_SCHEMA_VERSION,
    generated_at: new Date().toISOString(),
    controller: {
      name: controller.name,
      registration_number: controller.registrationNumber,
      address: controller.address,
      email: controller.email,
      dpo_email: controller.dpoEmail,
    },
    profile: profile === undefined ? {} : (toJson(profile) as JsonRow),
    devices: rows(devices),
    consents: rows(consents),
    consent_events: rows(consentEvents),
    messages: rows(messages),
    message_events: rows(messageEvents),
    run_exclusions: rows(exclusions),
    audience_list_members: rows(memberships),
    dsr_requests: rows(requests),
    audit_log: rows(auditLog),
  };
}

/**
 * Export as an operation: audited first, so that the document includes its own disclosure. The
 * document is returned, never stored: a copy kept here would be one more copy to erase.
 */
export async function exportPersonalData(
  trx: Db,
  ctx: DsrOperationContext,
  recipientId: number,
  controller: ControllerIdentity,
): Promise<SubjectExport> {
  await lockLivePerson(trx, recipientId);
  await audit(trx, {
    ...auditBase(ctx, recipientId),
    action: 'dsr.export',
    details: { ...requestRef(ctx), schema_version: EXPORT_SCHEMA_VERSION },
  });
  return buildSubjectExport(trx, recipientId, controller);
}
