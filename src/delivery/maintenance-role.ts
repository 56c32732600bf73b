import { sendQueuesOf } from '../campaigns/runner-role.js';
import { reviveStuckRuns } from '../campaigns/runs.repository.js';
import { runRetention } from '../consent/retention.js';
import type { Deps } from '../deps.js';
import { CAMPAIGN_RUNS_QUEUE } from '../queue/names.js';
import { reconcile } from './reconciler.js';

const EVERY_MS = 30_000;
const RETENTION_EVERY_MS = 24 * 3600_000;

/** The maintenance role: the reconciler every 30 s, stuck-run revival, and retention once a day. */
export async function startMaintenance(deps: Deps): Promise<() => Promise<void>> {
  const queues = sendQueuesOf(deps);
  const runs = deps.queues.get(CAMPAIGN_RUNS_QUEUE);
  let lastRetention = 0;
  let running: Promise<void> = Promise.resolve();
  const tick = async () => {
    try {
      const result = await reconcile(deps.db, deps.redis, queues, {
        queuePrefix: deps.config.redis.queuePrefix,
        graceSeconds: 60,
        batch: 1000,
      });
      if (result.indeterminate > 0 || result.reenqueued > 0) deps.logger.warn(result, 'reconciled messages');
      if (runs) await reviveStuckRuns(deps.db, runs);
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
  }, EVERY_MS);
  return async () => {
    clearInterval(timer);
    await running;
  };
}
