import { Redis } from 'ioredis';
import type { BenchContext, Slot } from './types.js';

/**
 * The key prefix of a run (or of one slot of it), for BullMQ's `prefix` option or raw keys:
 * `bench:<runId>` / `bench:<runId>:<slot index>`. Nothing else on the server starts with it, so
 * `deleteRunKeys` can clean up after the run without touching anyone's queues.
 */
export function redisPrefix(ctx: BenchContext, slot?: Slot): string {
  return slot === undefined ? `bench:${ctx.runId}` : `bench:${ctx.runId}:${slot.index}`;
}

/** Deletes every key under `prefix:` (SCAN + UNLINK, so the server is never blocked); returns how many. */
export async function deleteKeys(redisUrl: string, prefix: string): Promise<number> {
  if (!/^[A-Za-z0-9:_-]+$/.test(prefix)) throw new Error(`unsafe Redis key prefix ${JSON.stringify(prefix)}`);
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}

export function deleteRunKeys(ctx: BenchContext): Promise<number> {
  return deleteKeys(ctx.services.redisUrl, redisPrefix(ctx));
}
