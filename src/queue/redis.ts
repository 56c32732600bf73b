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
    // Work still in flight when we quit (BullMQ's INFO on a queue that was still starting, say) fails
    // with EPIPE or "Connection is closed": expected at shutdown, not a connection problem.
    if (closing.has(redis)) return;
    // ioredis emits an error per failed reconnect; one line every 10 s is enough.
    const now = Date.now();
    if (now - lastWarned > 10_000) {
      lastWarned = now;
      logger.warn({ err }, 'Redis connection error; reconnecting');
    }
  });
  return redis;
}

const closing = new WeakSet<Redis>();

/** True once the client is marked closing (markClosing, closeRedis): its errors are expected then. */
export function isClosing(redis: Redis): boolean {
  return closing.has(redis);
}

/** From now on the client's errors are expected (its users are being closed) and are not logged. */
export function markClosing(redis: Redis): void {
  closing.add(redis);
}

/** Quits (or, if QUIT cannot be sent, disconnects) and stops reporting the client's errors. */
export async function closeRedis(redis: Redis): Promise<void> {
  markClosing(redis);
  await redis.quit().catch(() => redis.disconnect());
}
