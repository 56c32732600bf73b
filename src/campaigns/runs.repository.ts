import type { Queue } from 'bullmq';
import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { NotFoundError } from '../errors/not-found-error.js';
import { parseIdPayload } from '../queue/id-payload.js';

export interface RunJobData {
  readonly runId: number;
}

export function parseRunJob(data: unknown): RunJobData | undefined {
  return parseIdPayload(data, 'runId');
}

/**
 * Creates the run of one occurrence of a campaign (unique per campaign and occurrence key, so a
 * scheduler tick delivered twice makes one run) and queues it for a campaign runner.
 */
export async function startRun(
  db: Db,
  runsQueue: Queue,
  input: { campaignId: number; trigger: 'manual' | 'schedule' | 'test'; occurrenceKey: string },
): Promise<{ runId: number; created: boolean }> {
  const run = await createRun(db, input);
  await enqueueRun(runsQueue, run.runId);
  return run;
}

/**
 * The row half of startRun: usable inside a transaction (the lifecycle creates the run with the
 * status change), then `enqueueRun` after the commit so that a runner never sees an uncommitted run.
 */
export async function createRun(
  db: Db,
  input: { campaignId: number; trigger: 'manual' | 'schedule' | 'test'; occurrenceKey: string },
): Promise<{ runId: number; created: boolean }> {
  const campaign = await db
    .selectFrom('campaigns')
    .select(['id', 'version'])
    .where('id', '=', input.campaignId)
    .executeTakeFirst();
  if (!campaign) throw new NotFoundError('campaign');
  const inserted = await db
    .insertInto('campaign_runs')
    .values({
      campaign_id: campaign.id,
      occurrence_key: input.occurrenceKey,
      trigger: input.trigger,
      campaign_version: campaign.version,
    })
    .onConflict((oc) => oc.columns(['campaign_id', 'occurrence_key']).doNothing())
    .returning('id')
    .executeTakeFirst();
  const run =
    inserted ??
    (await db
      .selectFrom('campaign_runs')
      .select('id')
      .where('campaign_id', '=', campaign.id)
      .where('occurrence_key', '=', input.occurrenceKey)
      .executeTakeFirstOrThrow());
  return { runId: run.id, created: inserted !== undefined };
}

export async function enqueueRun(runsQueue: Queue, runId: number): Promise<void> {
  await runsQueue.add('run', { runId } satisfies RunJobData, {
    jobId: `run${runId}`,
    attempts: 50,
    backoff: { type: 'fixed', delay: 2_000 },
    removeOnComplete: true,
    removeOnFail: { age: 7 * 24 * 3600 },
  });
}

/**
 * Runs whose runner died (lease expired while running) get a fresh job, with a job id of their own
 * so that it does not collide with the dead runner's stalled one. Returns the revived run ids.
 */
export async function reviveStuckRuns(db: Db, runsQueue: Queue): Promise<number[]> {
  const stuck = await db
    .selectFrom('campaign_runs')
    .select(['id', 'attempts'])
    .where('status', 'in', ['pending', 'running'])
    .where((eb) =>
      eb.or([
        eb('lease_expires_at', '<', sql<Date>`now()`),
        eb.and([
          eb('lease_expires_at', 'is', null),
          eb('created_at', '<', sql<Date>`now() - interval '1 minute'`),
        ]),
      ]),
    )
    .execute();
  for (const run of stuck) {
    await runsQueue.add('run', { runId: run.id } satisfies RunJobData, {
      jobId: `run${run.id}-a${run.attempts}`,
      attempts: 50,
      backoff: { type: 'fixed', delay: 2_000 },
      removeOnComplete: true,
      removeOnFail: { age: 7 * 24 * 3600 },
    });
  }
  return stuck.map((r) => r.id);
}
