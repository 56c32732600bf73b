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
  /**
   * Producer connection: fails fast while Redis is down. Opened on first use, like `queues`: an
   * operator command that only writes to PostgreSQL (a withdrawal, an API key) never connects to
   * Redis, so it works while Redis is away and leaves nothing starting up when it exits.
   */
  readonly redis: Redis;
  readonly queues: ReadonlyMap<string, Queue>;
}

export interface BuildOptions {
  role: string;
  logger?: Logger;
}

/** What closeDeps needs to know: which of the lazy parts were ever opened. */
interface Opened {
  redis: Redis | undefined;
  queues: Map<string, Queue> | undefined;
}

const opened = new WeakMap<Deps, Opened>();

export function buildDeps(config: Config, options: BuildOptions): Deps {
  const logger = options.logger ?? createLogger({ level: config.logLevel, name: options.role });
  const pool = createPool({
    url: config.database.url,
    max: config.database.poolSize,
    applicationName: `consentcast-${options.role}`,
    logger,
  });
  const db = createDb(pool);
  const state: Opened = { redis: undefined, queues: undefined };
  const redis = (): Redis => {
    state.redis ??= createRedis(config.redis.url, 'producer', logger);
    return state.redis;
  };
  const queues = (): Map<string, Queue> => {
    if (state.queues === undefined) {
      const connection = redis();
      const made = new Map<string, Queue>();
      for (const name of ALL_QUEUES) {
        const queue = new Queue(name, { connection, prefix: config.redis.queuePrefix });
        queue.on('error', (err) => {
          if (!isClosing(connection)) logger.warn({ err, queue: name }, 'queue error');
        });
        made.set(name, queue);
      }
      state.queues = made;
    }
    return state.queues;
  };
  const deps: Deps = {
    config,
    logger,
    pool,
    db,
    get redis() {
      return redis();
    },
    get queues() {
      return queues();
    },
  };
  opened.set(deps, state);
  return deps;
}

/**
 * Closes in reverse order of use: queues, Redis, then the database; only what was opened. Safe to
 * call once per deps.
 */
export async function closeDeps(deps: Deps): Promise<void> {
  const state = opened.get(deps);
  const redis = state?.redis;
  if (redis !== undefined) {
    markClosing(redis); // a queue still starting fails its INFO when we quit: expected, not logged
    await Promise.allSettled([...(state?.queues?.values() ?? [])].map((q) => q.close()));
    await closeRedis(redis);
  }
  await deps.db.destroy();
}
