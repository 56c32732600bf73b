import type { Queue } from 'bullmq';
import { type CampaignInput, parseCampaign } from '../../src/campaigns/campaign.js';
import {
  createCampaign,
  loadCampaign,
  type StoredCampaign,
} from '../../src/campaigns/campaigns.repository.js';
import { approveCampaign, submitCampaign } from '../../src/campaigns/lifecycle.js';
import { type RunOutcome, runCampaign } from '../../src/campaigns/runner.js';
import { startRun } from '../../src/campaigns/runs.repository.js';
import type { Deps } from '../../src/deps.js';
import { CAMPAIGN_RUNS_QUEUE } from '../../src/queue/names.js';
import { queueOf, sendQueuesOf } from '../../src/queue/queues.js';

export async function defineCampaign(deps: Deps, input: CampaignInput): Promise<StoredCampaign> {
  const parsed = parseCampaign(input, deps.config.policy);
  if (!parsed.ok) throw new Error(`invalid campaign: ${JSON.stringify(parsed.problems)}`);
  const stored = await createCampaign(deps.db, parsed.value, { type: 'operator', id: 'test' });
  return loadCampaign(deps.db, stored.id);
}

export function runsQueue(deps: Deps): Queue {
  return queueOf(deps, CAMPAIGN_RUNS_QUEUE);
}

/** Creates a run and runs it in this process (the worker role does the same from a job). */
export async function runNow(
  deps: Deps,
  campaignId: number,
  options: { chunkSize?: number; owner?: string; occurrence?: string } = {},
): Promise<{ runId: number; outcome: RunOutcome }> {
  const { runId } = await startRun(deps.db, runsQueue(deps), {
    campaignId,
    trigger: 'manual',
    occurrenceKey: options.occurrence ?? `test-${Date.now()}-${Math.random()}`,
  });
  return { runId, outcome: await runInProcess(deps, runId, options) };
}

/** Runs an existing run (run-now, test send, a tick) in this process, as the runner role would. */
export function runInProcess(
  deps: Deps,
  runId: number,
  options: { chunkSize?: number; owner?: string } = {},
): Promise<RunOutcome> {
  return runCampaign(
    { db: deps.db, logger: deps.logger, config: deps.config, sendQueues: sendQueuesOf(deps) },
    runId,
    { owner: options.owner ?? 'test-runner', chunkSize: options.chunkSize ?? 500, leaseMs: 30_000 },
  );
}

/** How many messages of a run are still open (queued or sending). */
export async function openMessages(deps: Deps, runId: number): Promise<number> {
  const open = await deps.db
    .selectFrom('messages')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('run_id', '=', runId)
    .where('status', 'in', ['queued', 'sending'])
    .executeTakeFirstOrThrow();
  return Number(open.n);
}

/** Four eyes as two operators: `test` (the creator) submits, `colleague` approves. */
export async function submitAndApprove(deps: Deps, campaignId: number): Promise<void> {
  await submitCampaign(deps, campaignId, { type: 'operator', id: 'test' });
  await approveCampaign(deps, campaignId, { type: 'operator', id: 'colleague' });
}
