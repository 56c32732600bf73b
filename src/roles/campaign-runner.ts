import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { UnrecoverableError, Worker } from 'bullmq';
import { runCampaign } from '../campaigns/runner.js';
import { parseRunJob, reviveStuckRuns } from '../campaigns/runs.repository.js';
import type { Deps } from '../deps.js';
import { CAMPAIGN_RUNS_QUEUE } from '../queue/names.js';
import { queueOf, sendQueuesOf } from '../queue/queues.js';
import { closeRedis, createRedis } from '../queue/redis.js';
import type { Stop } from './role.js';

/**
 * The campaign-runner role: takes run jobs from `campaign-runs` one at a time and revives runs whose
 * runner died (lease expired). Returns its graceful stop.
 */
export async function startCampaignRunner(deps: Deps): Promise<Stop> {
  const owner = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const { chunkSize, leaseMs } = deps.config.runner;
  const runsQueue = queueOf(deps, CAMPAIGN_RUNS_QUEUE);
  const sendQueues = sendQueuesOf(deps);
  const connection = createRedis(deps.config.redis.url, 'worker', deps.logger);
  const worker = new Worker(
    CAMPAIGN_RUNS_QUEUE,
    async (job) => {
      const data = parseRunJob(job.data);
      if (!data) throw new UnrecoverableError('run job payload is not { runId }');
      return runCampaign({ db: deps.db, logger: deps.logger, config: deps.config, sendQueues }, data.runId, {
        owner,
        chunkSize,
        leaseMs,
        onChunk: (p) => {
          void job.updateProgress({ checkpoint: p.checkpoint, selected: p.funnel.selected });
        },
      });
    },
    {
      connection,
      prefix: deps.config.redis.queuePrefix,
      concurrency: 1,
      lockDuration: Math.max(30_000, leaseMs),
    },
  );
  worker.on('error', (err) => deps.logger.warn({ err }, 'campaign runner worker error'));
  worker.on('failed', (job, err) =>
    deps.logger.warn(
      { err, runJob: job?.id, attempt: job?.attemptsMade },
      'run job failed; it will be retried',
    ),
  );
  const revive = async () => {
    const revived = await reviveStuckRuns(deps.db, runsQueue).catch((err: unknown) => {
      deps.logger.warn({ err }, 'stuck-run check failed');
      return [];
    });
    if (revived.length > 0) deps.logger.warn({ runs: revived }, 'revived runs whose runner stopped');
  };
  await revive();
  const timer = setInterval(() => void revive(), Math.max(1_000, leaseMs / 2));
  deps.logger.info({ owner, chunkSize, leaseMs }, 'campaign runner started');
  return async () => {
    clearInterval(timer);
    await worker.close();
    await closeRedis(connection);
  };
}
