import { type Selectable, sql } from 'kysely';
import { audit } from '../audit/audit.js';
import type { Actor } from '../auth/actor.js';
import type { Db } from '../db/database.js';
import type { CampaignsTable } from '../db/schema.js';
import { NotFoundError } from '../errors/not-found-error.js';
import { ValidationError } from '../errors/validation-error.js';
import { parseRule } from '../segmentation/rules.js';
import type { CampaignDefinition, CampaignInput } from './campaign.js';

/** A campaign as stored; its offers are rows of `campaign_offers`. */
export type CampaignRow = Selectable<CampaignsTable>;

export interface StoredCampaign extends CampaignDefinition {
  readonly id: number;
  readonly status: string;
  readonly version: number;
}

/** Fixed offers must exist and share the campaign's purpose (N3); names every offending entry. */
async function checkFixedOffers(db: Db, c: CampaignDefinition): Promise<void> {
  if (c.offerIds.length === 0) return;
  const offers = await db
    .selectFrom('offers')
    .select(['id', 'purpose'])
    .where('id', 'in', c.offerIds)
    .execute();
  const problems = c.offerIds.flatMap((id, i) => {
    const o = offers.find((x) => x.id === id);
    if (!o) return [{ field: `offer_ids/${i}`, message: `offer ${id} does not exist` }];
    return o.purpose === c.purpose
      ? []
      : [{ field: `offer_ids/${i}`, message: `offer ${id} is for ${o.purpose}, not ${c.purpose}` }];
  });
  if (problems.length > 0) throw new ValidationError(problems);
}

function definitionColumns(c: CampaignDefinition) {
  return {
    name: c.name,
    purpose: c.purpose,
    audience: JSON.stringify(c.audience),
    offer_mode: c.offerMode,
    channels: [...c.channels],
    channel_strategy: c.channelStrategy,
    quiet_start_minute: c.quietHours?.startMinute ?? null,
    quiet_end_minute: c.quietHours?.endMinute ?? null,
    frequency_cap_max: c.frequencyCap?.max ?? null,
    frequency_cap_window_hours: c.frequencyCap?.windowHours ?? null,
    send_rate_per_second: c.sendRatePerSecond ?? null,
  };
}

async function writeOffers(db: Db, campaignId: number, offerIds: readonly number[]): Promise<void> {
  if (offerIds.length === 0) return;
  await db
    .insertInto('campaign_offers')
    .values(offerIds.map((offer_id) => ({ campaign_id: campaignId, offer_id })))
    .execute();
}

/**
 * Replaces a campaign's definition inside the caller's transaction (the lifecycle guards the status
 * and bumps the version in the same transaction).
 */
export async function writeDefinition(trx: Db, campaignId: number, c: CampaignDefinition): Promise<void> {
  await checkFixedOffers(trx, c);
  await trx.updateTable('campaigns').set(definitionColumns(c)).where('id', '=', campaignId).execute();
  await trx.deleteFrom('campaign_offers').where('campaign_id', '=', campaignId).execute();
  await writeOffers(trx, campaignId, c.offerIds);
}

/** A stored definition as API input again (PATCH merges the changed fields into it). */
export function inputOf(c: CampaignDefinition): CampaignInput {
  const hhmm = (m: number) =>
    `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
  return {
    name: c.name,
    purpose: c.purpose,
    audience: c.audience,
    offer_mode: c.offerMode,
    offer_ids: [...c.offerIds],
    channels: [...c.channels],
    channel_strategy: c.channelStrategy,
    quiet_hours: c.quietHours ? `${hhmm(c.quietHours.startMinute)}-${hhmm(c.quietHours.endMinute)}` : null,
    frequency_cap: c.frequencyCap ? `${c.frequencyCap.max}/${c.frequencyCap.windowHours}h` : null,
    send_rate_per_second: c.sendRatePerSecond ?? null,
  };
}

/** Stores a new campaign as a draft. Fixed offers must exist and share the campaign's purpose (N3). */
export async function createCampaign(db: Db, c: CampaignDefinition, actor: Actor): Promise<StoredCampaign> {
  return db.transaction().execute(async (trx) => {
    await checkFixedOffers(trx, c);
    const row = await trx
      .insertInto('campaigns')
      .values({ ...definitionColumns(c), created_by: actor.id })
      .returning(['id', 'status', 'version'])
      .executeTakeFirstOrThrow();
    await writeOffers(trx, row.id, c.offerIds);
    await audit(trx, {
      actor,
      action: 'campaign.create',
      subjectType: 'campaign',
      subjectId: row.id,
      details: { purpose: c.purpose, channels: [...c.channels], offer_mode: c.offerMode },
    });
    return { ...c, id: row.id, status: row.status, version: row.version };
  });
}

/** Loads a campaign's definition as stored (the rule is re-validated: stored JSON is input too). */
export async function loadCampaign(db: Db, id: number): Promise<StoredCampaign> {
  const row = await db.selectFrom('campaigns').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw new NotFoundError('campaign');
  const audience = parseRule(row.audience);
  if (!audience.ok) throw new ValidationError(audience.problems);
  const offers = await db
    .selectFrom('campaign_offers')
    .select('offer_id')
    .where('campaign_id', '=', id)
    .orderBy('offer_id')
    .execute();
  const quiet =
    row.quiet_start_minute !== null && row.quiet_end_minute !== null
      ? { startMinute: row.quiet_start_minute, endMinute: row.quiet_end_minute }
      : undefined;
  const cap =
    row.frequency_cap_max !== null && row.frequency_cap_window_hours !== null
      ? { max: row.frequency_cap_max, windowHours: row.frequency_cap_window_hours }
      : undefined;
  return {
    id: row.id,
    status: row.status,
    version: row.version,
    name: row.name,
    purpose: row.purpose,
    audience: audience.rule,
    offerMode: row.offer_mode,
    offerIds: offers.map((o) => o.offer_id),
    channels: row.channels as CampaignDefinition['channels'],
    channelStrategy: row.channel_strategy,
    ...(quiet ? { quietHours: quiet } : {}),
    ...(cap ? { frequencyCap: cap } : {}),
    ...(row.send_rate_per_second !== null ? { sendRatePerSecond: row.send_rate_per_second } : {}),
  };
}

/** The campaign's row as stored, or undefined when there is no such campaign. */
export async function findCampaignRow(db: Db, id: number): Promise<CampaignRow | undefined> {
  return db.selectFrom('campaigns').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Campaigns in id order, keyset-paged (`after` an id), of one status or all. */
export async function listCampaignRows(
  db: Db,
  page: { readonly status?: CampaignRow['status']; readonly after?: number; readonly limit: number },
): Promise<CampaignRow[]> {
  let query = db.selectFrom('campaigns').selectAll().orderBy('id').limit(page.limit);
  if (page.status !== undefined) query = query.where('status', '=', page.status);
  if (page.after !== undefined) query = query.where('id', '>', page.after);
  return query.execute();
}

/** The offer ids of each of these campaigns, in offer id order (a campaign without offers is absent). */
export async function offerIdsByCampaign(
  db: Db,
  campaignIds: readonly number[],
): Promise<Map<number, number[]>> {
  const byCampaign = new Map<number, number[]>();
  if (campaignIds.length === 0) return byCampaign;
  const rows = await db
    .selectFrom('campaign_offers')
    .select(['campaign_id', 'offer_id'])
    .where('campaign_id', 'in', campaignIds)
    .orderBy('offer_id')
    .execute();
  for (const row of rows) {
    const ids = byCampaign.get(row.campaign_id);
    if (ids) ids.push(row.offer_id);
    else byCampaign.set(row.campaign_id, [row.offer_id]);
  }
  return byCampaign;
}

/**
 * The schedules of the campaigns that have occurrences to come, which the scheduler role mirrors into
 * BullMQ job schedulers: scheduled, running or paused, not ended, and a once-schedule not yet run.
 */
export async function campaignsWithSchedulers(db: Db) {
  return db
    .selectFrom('campaigns as c')
    .select([
      'c.id',
      'c.schedule_kind',
      'c.schedule_at',
      'c.schedule_cron',
      'c.schedule_every_seconds',
      'c.schedule_time_zone',
      'c.schedule_ends_at',
    ])
    .where('c.status', 'in', ['scheduled', 'running', 'paused'])
    .where('c.schedule_kind', '<>', 'none')
    .where((eb) =>
      eb.or([eb('c.schedule_ends_at', 'is', null), eb('c.schedule_ends_at', '>', sql<Date>`now()`)]),
    )
    .where(
      sql<boolean>`NOT (c.schedule_kind = 'once' AND EXISTS (
        SELECT 1 FROM campaign_runs r WHERE r.campaign_id = c.id AND r.trigger = 'schedule'))`,
    )
    .execute();
}
