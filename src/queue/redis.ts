import { Redis } from 'ioredis';
import type { Logger } from '../logging/logger.js';

/**
 * Producers fail fast when Redis is away (a request should get an error, not hang); workers wait
 * for it (BullMQ requires maxRetriesPerRequest: null for blocking connections). Both reconnect.
 */
export function createRedis(url: string, kind: 'producer' | 'worker', logger: Logger): Redis {
  const redis = new Redis(url, {
    maxRetriesPerRequest: kind === 'worker' ? null : 2,
    enableOfflineQueue: kind === 'worker',
    lazyConnect: false,
    connectionName: `consentcast-${kind}-${process.pid}`,
    retryStrategy: (attempt) => Math.min(attempt * 200, 5_000),
  });
  let lastWarned = 0;
  redis.on('error', (err) => {
    // ioredis emits an error per failed reconnect; one line every 10 s is enough.
    const now = Date.now();
    if (now - lastWarned > 10_000) {
      lastWarned = now;
      logger.warn({ err }, 'Redis connection error; reconnecting');
    }
  });
  return redis;
}
