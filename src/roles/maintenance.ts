import { reviveStuckRuns } from '../campaigns/runs.repository.js';
import { runRetention } from '../consent/retention.js';
import { pruneHandoffs } from '../delivery/handoff.js';
import { reenqueueLostJobs, settleExpiredLeases } from '../delivery/reconciler.js';
import type { Deps } from '../deps.js';
import { CAMPAIGN_RUNS_QUEUE } from '../queue/names.js';
import { queueOf, sendQueuesOf } from '../queue/queues.js';
import { pruneEndedSessions } from '../staff/sessions.js';
import type { Stop } from './role.js';

/** Expired leases are settled this often: a dead worker's messages are terminal or sent soon after. */
const LEASES_EVERY_MS = 5_000;
const EVERY_MS = 30_000;
const RETENTION_EVERY_MS = 24 * 3600_000;

/**
 * The maintenance role: expired send leases every 5 s; lost jobs, stuck runs and ended staff sessions
 * every 30 s; retention
 * once a day. Every step is idempotent (a second maintenance process, or a tick run twice, changes
 * nothing more).
 */
export async function startMaintenance(deps: Deps): Promise<Stop> {
  const queues = sendQueuesOf(deps);
  const runs = queueOf(deps, CAMPAIGN_RUNS_QUEUE);
  let lastRetention = 0;
  let lastSweep = 0;
  let running: Promise<void> = Promise.resolve();
  const tick = async () => {
    try {
      const settled = await settleExpiredLeases(deps.db, queues);
      if (settled.indeterminate > 0 || settled.released > 0)
        deps.logger.warn(settled, 'settled messages whose worker stopped renewing their lease');
      if (Date.now() - lastSweep < EVERY_MS - LEASES_EVERY_MS / 2) return;
      lastSweep = Date.now();
      const reenqueued = await reenqueueLostJobs(deps.db, deps.redis, queues, {
        queuePrefix: deps.config.redis.queuePrefix,
        graceSeconds: 60,
        batch: 1000,
      });
      if (reenqueued > 0) deps.logger.warn({ reenqueued }, 'enqueued again messages whose job Redis lost');
      await reviveStuckRuns(deps.db, runs);
      await pruneHandoffs(deps.pool);
      await pruneEndedSessions(
        deps.db,
        {
          idleMs: deps.config.staff.sessionIdleMinutes * 60_000,
          absoluteMs: deps.config.staff.sessionMaxHours * 3_600_000,
        },
        new Date(),
      );
      if (Date.now() - lastRetention > RETENTION_EVERY_MS) {
        lastRetention = Date.now();
        const r = await runRetention(deps.db, { type: 'system', id: 'maintenance' });
        deps.logger.info(r, 'retention done');
      }
    } catch (err) {
      deps.logger.warn({ err }, 'maintenance tick failed; will try again');
    }
  };
  running = tick();
  const timer = setInterval(() => {
    running = running.then(tick);
  }, LEASES_EVERY_MS);
  return async () => {
    clearInterval(timer);
    await running;
  };
}
