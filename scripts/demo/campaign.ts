import type { Actor } from '../../src/auth/actor.js';
import { parseCampaign } from '../../src/campaigns/campaign.js';
import { createCampaign } from '../../src/campaigns/campaigns.repository.js';
import { approveCampaign, runCampaignNow, submitCampaign } from '../../src/campaigns/lifecycle.js';
import type { Deps } from '../../src/deps.js';
import { ValidationError } from '../../src/errors/validation-error.js';

export const DEMO_PURPOSE = 'service_offers';

/**
 * The demo's campaign: service offers (best match of the active offers) on every channel a person
 * consented to. Quiet hours `00:00-00:00` are an empty window (parseQuietHours / isQuiet:
 * start = end is never quiet), so the demo sends whatever the local time is in each person's zone;
 * the cap is the ceiling's 4 per 7 days, so the three messages of one person all fit (N15 still
 * holds: nobody gets more than the ceiling).
 */
export async function createDemoCampaign(deps: Deps, author: Actor): Promise<number> {
  const parsed = parseCampaign(
    {
      name: 'Klix demo: service offers on every channel',
      purpose: DEMO_PURPOSE,
      audience: { all: [] },
      offer_mode: 'best_match',
      channels: ['push', 'email', 'sms'],
      channel_strategy: 'all',
      quiet_hours: '00:00-00:00',
      frequency_cap: '4/7d',
    },
    deps.config.policy,
  );
  if (!parsed.ok) throw new ValidationError(parsed.problems);
  const stored = await createCampaign(deps.db, parsed.value, author);
  return stored.id;
}

/**
 * The lifecycle a marketer goes through (issue 6): the author submits the campaign, a second person
 * approves it (four eyes: the approver may not be the author), and the approved version is run once
 * now. Resolves with the run id; the campaign-runner role takes the run from the `campaign-runs` queue.
 */
export async function approveAndStart(
  deps: Deps,
  campaignId: number,
  people: { author: Actor; approver: Actor },
): Promise<number> {
  if (deps.config.campaigns.approvalRequired) {
    await submitCampaign(deps, campaignId, people.author, 'demo campaign');
    await approveCampaign(deps, campaignId, people.approver, { reason: 'demo: checked offers and audience' });
  }
  const { runId } = await runCampaignNow(deps, campaignId, people.author);
  return runId;
}
