import { audit } from '../audit/audit.js';
import type { Actor } from '../auth/actor.js';
import type { Db } from '../db/database.js';
import { NotFoundError } from '../errors/not-found-error.js';
import { ValidationError } from '../errors/validation-error.js';
import { parseRule } from '../segmentation/rules.js';
import type { CampaignDefinition } from './campaign.js';

export interface StoredCampaign extends CampaignDefinition {
  readonly id: number;
  readonly status: string;
  readonly version: number;
}

/** Stores a new campaign as a draft. Fixed offers must exist and share the campaign's purpose (N3). */
export async function createCampaign(db: Db, c: CampaignDefinition, actor: Actor): Promise<StoredCampaign> {
  return db.transaction().execute(async (trx) => {
    if (c.offerIds.length > 0) {
      const offers = await trx
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
    const row = await trx
      .insertInto('campaigns')
      .values({
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
        created_by: actor.id,
      })
      .returning(['id', 'status', 'version'])
      .executeTakeFirstOrThrow();
    if (c.offerIds.length > 0) {
      await trx
        .insertInto('campaign_offers')
        .values(c.offerIds.map((offer_id) => ({ campaign_id: row.id, offer_id })))
        .execute();
    }
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
