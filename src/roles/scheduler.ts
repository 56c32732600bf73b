import { type Job, UnrecoverableError, Worker } from 'bullmq';
import { campaignsWithSchedulers, findCampaignRow } from '../campaigns/campaigns.repository.js';
import { markRunStarted, settleCampaigns } from '../campaigns/lifecycle.js';
import { startRun } from '../campaigns/runs.repository.js';
import {
  campaignOfSchedulerId,
  occurrenceKey,
  parseTick,
  removeScheduler,
  repeatOptions,
  type ScheduleColumns,
  scheduleOf,
  upsertScheduler,
} from '../campaigns/schedule.js';
import type { Deps } from '../deps.js';
import { reapplyEmergencyStop } from '../ops/emergency-stop.js';
import { CAMPAIGN_RUNS_QUEUE, CAMPAIGN_SCHEDULES_QUEUE } from '../queue/names.js';
import { queueOf } from '../queue/queues.js';
import { closeRedis, createRedis } from '../queue/redis.js';
import type { Stop } from './role.js';

/**
 * Makes BullMQ's job schedulers mirror PostgreSQL: a scheduler for every campaign that has
 * occurrences to come (scheduled, running or paused; a once-schedule not yet run), none for any other.
 * Redis may have lost them (or kept stale ones): PostgreSQL is the truth.
 */
export async function reconcileSchedulers(deps: Deps): Promise<{ created: number; removed: number }> {
  const q = queueOf(deps, CAMPAIGN_SCHEDULES_QUEUE);
  const wanted = await campaignsWithSchedulers(deps.db);
  const existing = new Map(
    (await q.getJobSchedulers()).flatMap((s) => {
      const id = campaignOfSchedulerId(s.key);
      return id === undefined ? [] : [[id, s] as const];
    }),
  );
  let created = 0;
  let removed = 0;
  const keep = new Set<number>();
  for (const row of wanted) {
    const schedule = scheduleOf(row as ScheduleColumns);
    if (!schedule) continue;
    keep.add(row.id);
    const want = repeatOptions(schedule);
    const have = existing.get(row.id);
    const same =
      have !== undefined &&
      (have.pattern ?? undefined) === want.pattern &&
      (have.every === undefined ? undefined : Number(have.every)) === want.every &&
      (have.tz ?? undefined) === want.tz;
    if (same) continue;
    await upsertScheduler(q, row.id, schedule);
    created += 1;
  }
  for (const id of existing.keys()) {
    if (keep.has(id)) continue;
    await removeScheduler(q, id);
    removed += 1;
  }
  return { created, removed };
}

/** One tick of a campaign's scheduler: a run of that occurrence (one run however often it arrives). */
export async function handleTick(deps: Deps, job: Job): Promise<string> {
  const tick = parseTick(job.data);
  if (!tick) throw new UnrecoverableError('tick payload is not { campaignId }');
  const row = await findCampaignRow(deps.db, tick.campaignId);
  const log = deps.logger.child({ campaignId: tick.campaignId, tick: job.id });
  if (!row) return 'gone';
  const schedule = scheduleOf(row);
  if (row.status === 'paused') {
    log.info('tick skipped: the campaign is paused');
    return 'paused';
  }
  if (!schedule || !['scheduled', 'running'].includes(row.status)) {
    await removeScheduler(queueOf(deps, CAMPAIGN_SCHEDULES_QUEUE), row.id);
    log.info({ status: row.status }, 'tick of a campaign that is no longer scheduled: scheduler removed');
    return 'not_scheduled';
  }
  if (schedule.kind !== 'once' && schedule.endsAt && schedule.endsAt <= new Date()) return 'ended';
  const key = occurrenceKey(schedule, job.id, job.timestamp);
  const { runId, created } = await startRun(deps.db, queueOf(deps, CAMPAIGN_RUNS_QUEUE), {
    campaignId: row.id,
    trigger: 'schedule',
    occurrenceKey: key,
  });
  await markRunStarted(deps.db, row.id, runId);
  log.info(
    { runId, created, occurrence: key },
    created ? 'scheduled run started' : 'tick repeated: run exists',
  );
  return created ? 'started' : 'duplicate';
}

/** How often running campaigns are settled (completed / back to scheduled) and Redis is checked. */
const SETTLE_MS = 1_000;
const RECONCILE_MS = 30_000;

/**
 * The scheduler role: re-creates the job schedulers of every scheduled campaign from PostgreSQL
 * (and removes stale ones), re-applies an open emergency stop, then consumes ticks from
 * `campaign-schedules`. It also settles running campaigns whose work is done. Returns its graceful stop.
 */
export async function startScheduler(deps: Deps): Promise<Stop> {
  const reconciled = await reconcileSchedulers(deps);
  await reapplyEmergencyStop(deps);
  deps.logger.info(reconciled, 'campaign schedulers reconciled with PostgreSQL');
  const connection = createRedis(deps.config.redis.url, 'worker', deps.logger);
  const worker = new Worker(CAMPAIGN_SCHEDULES_QUEUE, (job) => handleTick(deps, job), {
    connection,
    prefix: deps.config.redis.queuePrefix,
    concurrency: 4,
  });
  worker.on('error', (err) => deps.logger.warn({ err }, 'scheduler worker error'));
  worker.on('failed', (job, err) =>
    deps.logger.warn({ err, tick: job?.id }, 'tick failed; it will be retried'),
  );

  let busy = false;
  let lastReconcile = Date.now();
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      const settled = await settleCampaigns(deps.db);
      if (settled.length > 0) deps.logger.info({ settled }, 'campaigns settled');
      if (settled.some((s) => s.status === 'completed') || Date.now() - lastReconcile > RECONCILE_MS) {
        lastReconcile = Date.now();
        const r = await reconcileSchedulers(deps);
        if (r.created + r.removed > 0) deps.logger.warn(r, 'campaign schedulers repaired from PostgreSQL');
        await reapplyEmergencyStop(deps);
      }
    } catch (err) {
      deps.logger.warn({ err }, 'scheduler housekeeping failed; retrying');
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), SETTLE_MS);
  deps.logger.info('campaign scheduler started');
  return async () => {
    clearInterval(timer);
    await worker.close();
    await closeRedis(connection);
  };
}
