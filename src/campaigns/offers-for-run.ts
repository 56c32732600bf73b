import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import type { Channel } from '../domain/vocabulary.js';

import { parseRule, type Rule } from '../segmentation/rules.js';
import type { StoredCampaign } from './campaigns.repository.js';

/** An offer a run may match, in priority order (highest first, then oldest). */
export interface CandidateOffer {
  readonly id: number;
  readonly key: string;
  readonly priority: number;
  readonly personalised: boolean;
  readonly eligibility: Rule | null;
  readonly resendAfterDays: number;
  /** People the offer may still be sent to (its total send cap); undefined: no cap. */
  readonly remaining: number | undefined;
  /** Channels the offer has content for: it is never assigned to a message it cannot fill. */
  readonly channels: readonly Channel[];
}

/**
 * The active offers of the campaign's purpose (or its fixed offers) valid at `now`, with what is left
 * of each one's send cap. A cap counts the people the offer was queued, sent or being sent to.
 */
export async function candidateOffers(
  db: Db,
  campaign: StoredCampaign,
  now: Date,
): Promise<CandidateOffer[]> {
  let query = db
    .selectFrom('offers as o')
    .select([
      'o.id',
      'o.key',
      'o.priority',
      'o.personalised',
      'o.eligibility',
      'o.resend_after_days',
      'o.send_cap_total',
      sql<
        Channel[]
      >`ARRAY(SELECT DISTINCT oc.channel FROM offer_contents oc WHERE oc.offer_id = o.id ORDER BY 1)`.as(
        'channels',
      ),
      // Only capped offers are counted: counting every offer's messages each chunk grows with the outbox.
      sql<number>`CASE WHEN o.send_cap_total IS NULL THEN 0 ELSE (SELECT count(DISTINCT m.recipient_id)::int FROM messages m
        WHERE m.offer_id = o.id AND m.status IN ('queued', 'sending', 'sent')) END`.as('used'),
    ])
    .where('o.purpose', '=', campaign.purpose)
    .where('o.status', '=', 'active')
    .where((eb) => eb.or([eb('o.valid_from', 'is', null), eb('o.valid_from', '<=', now)]))
    .where((eb) => eb.or([eb('o.valid_until', 'is', null), eb('o.valid_until', '>', now)]))
    .orderBy('o.priority', 'desc')
    .orderBy('o.id');
  if (campaign.offerMode === 'fixed')
    query = query.where('o.id', 'in', campaign.offerIds.length > 0 ? campaign.offerIds : [0]);
  const rows = await query.execute();
  return rows.flatMap((o) => {
    let eligibility: Rule | null = null;
    if (o.eligibility !== null) {
      const parsed = parseRule(o.eligibility, `offers/${o.id}/eligibility`);
      // An offer whose stored rule no longer validates is not offered to anyone.
      if (!parsed.ok) return [];
      eligibility = parsed.rule;
    }
    return [
      {
        id: o.id,
        key: o.key,
        priority: o.priority,
        personalised: o.personalised,
        eligibility,
        resendAfterDays: o.resend_after_days,
        remaining: o.send_cap_total === null ? undefined : Math.max(0, o.send_cap_total - o.used),
        channels: o.channels,
      },
    ];
  });
}
