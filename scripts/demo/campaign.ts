import type { Actor } from '../../src/auth/actor.js';
import { parseCampaign } from '../../src/campaigns/campaign.js';
import { createCampaign } from '../../src/campaigns/campaigns.repository.js';
import { startRun } from '../../src/campaigns/runs.repository.js';
import type { Deps } from '../../src/deps.js';
import { ValidationError } from '../../src/errors/validation-error.js';
import { CAMPAIGN_RUNS_QUEUE } from '../../src/queue/names.js';

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
 * Approves the campaign and starts one run now; resolves with the run id. The campaign-runner role
 * takes the run from the `campaign-runs` queue.
 *
 * Today the lifecycle (issue 6: submit → approval by a second person → run-now) is not in the tree,
 * so this only creates the run (`startRun`, what the scheduler and run-now will call too) and the
 * campaign stays a draft. When the lifecycle lands, this becomes: submit as `author`, approve as
 * `approver` (four eyes: another person), then the lifecycle's run-now — and nothing else changes.
 */
export async function approveAndStart(
  deps: Deps,
  campaignId: number,
  _people: { author: Actor; approver: Actor },
): Promise<number> {
  const runsQueue = deps.queues.get(CAMPAIGN_RUNS_QUEUE);
  if (!runsQueue) throw new Error('no campaign-runs queue');
  const { runId } = await startRun(deps.db, runsQueue, {
    campaignId,
    trigger: 'manual',
    occurrenceKey: `demo-${new Date().toISOString()}`,
  });
  return runId;
}
