import type { Config } from '../config/config.js';
import type { Db } from '../db/database.js';
import { clockAt } from '../segmentation/rules.js';
import { effectivePolicy, withSendableChannels } from './campaign.js';
import type { StoredCampaign } from './campaigns.repository.js';
import { candidateOffers } from './offers-for-run.js';
import {
  addFunnel,
  emptyFunnel,
  type Funnel,
  type MatchExplanation,
  nextChunk,
  type PlanContext,
  planChunk,
  remainingAfter,
} from './plan.js';

export interface PreviewSample {
  readonly client_number: string | null;
  readonly channels: string[];
  readonly match: MatchExplanation;
}

export interface Preview {
  readonly funnel: Funnel;
  readonly samples: PreviewSample[];
}

/**
 * What a run would do now, without creating anything: the same chunked planning as the run (on the
 * enabled channels only), with the offer caps carried from chunk to chunk as the run's own writes
 * would carry them.
 */
export async function previewCampaign(
  db: Db,
  stored: StoredCampaign,
  config: Config,
  options: { sampleSize?: number; chunkSize?: number; now?: Date } = {},
): Promise<Preview> {
  const now = options.now ?? new Date();
  const campaign = withSendableChannels(stored, config.channels);
  const policy = effectivePolicy(campaign, config.policy);
  let offers = await candidateOffers(db, campaign, now);
  let funnel = emptyFunnel();
  const sampleIds = new Map<number, { channels: string[]; match: MatchExplanation }>();
  const sampleSize = options.sampleSize ?? 10;
  let lo = 0;
  for (;;) {
    const chunk = await nextChunk(db, lo, options.chunkSize ?? config.runner.chunkSize);
    if (!chunk) break;
    const ctx: PlanContext = { campaign, policy, clock: clockAt(now), now, offers };
    const plan = await planChunk(db, ctx, lo, chunk.hi, chunk.count);
    funnel = addFunnel(funnel, plan.funnel);
    offers = remainingAfter(offers, plan);
    for (const m of plan.messages) {
      const s = sampleIds.get(m.recipientId);
      if (s) s.channels.push(m.channel);
      else if (sampleIds.size < sampleSize)
        sampleIds.set(m.recipientId, { channels: [m.channel], match: m.match });
    }
    lo = chunk.hi;
  }
  const people =
    sampleIds.size === 0
      ? []
      : await db
          .selectFrom('recipients')
          .select(['id', 'client_number'])
          .where('id', 'in', [...sampleIds.keys()])
          .execute();
  const samples = [...sampleIds].map(([id, s]) => ({
    client_number: people.find((p) => p.id === id)?.client_number ?? null,
    channels: s.channels,
    match: s.match,
  }));
  return { funnel, samples };
}
