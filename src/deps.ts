import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { Config } from './config/config.js';
import { createDb, createPool, type Db } from './db/database.js';
import { createLogger, type Logger } from './logging/logger.js';
import { ALL_QUEUES } from './queue/names.js';
import { closeRedis, createRedis, isClosing, markClosing } from './queue/redis.js';

/** Everything a process role needs, built once from the configuration and passed explicitly. */
export interface Deps {
  readonly config: Config;
  readonly logger: Logger;
  readonly pool: pg.Pool;
  readonly db: Db;
  /** Producer connection: fails fast while Redis is down. */
  readonly redis: Redis;
  readonly queues: ReadonlyMap<string, Queue>;
}

export interface BuildOptions {
  role: string;
  logger?: Logger;
}

export function buildDeps(config: Config, options: BuildOptions): Deps {
  const logger = options.logger ?? createLogger({ level: config.logLevel, name: options.role });
  const pool = createPool({
    url: config.database.url,
    max: config.database.poolSize,
    applicationName: `consentcast-${options.role}`,
    logger,
  });
  const db = createDb(pool);
  const redis = createRedis(config.redis.url, 'producer', logger);
  const queues = new Map<string, Queue>();
  for (const name of ALL_QUEUES) {
    const queue = new Queue(name, { connection: redis, prefix: config.redis.queuePrefix });
    queue.on('error', (err) => {
      if (!isClosing(redis)) logger.warn({ err, queue: name }, 'queue error');
    });
    queues.set(name, queue);
  }
  return { config, logger, pool, db, redis, queues };
}

/** Closes in reverse order of use: queues, Redis, then the database. Safe to call once per deps. */
export async function closeDeps(deps: Deps): Promise<void> {
  markClosing(deps.redis); // a queue still starting fails its INFO when we quit: expected, not logged
  await Promise.allSettled([...deps.queues.values()].map((q) => q.close()));
  await closeRedis(deps.redis);
  await deps.db.destroy();
}
