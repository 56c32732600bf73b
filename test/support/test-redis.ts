import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { inject } from 'vitest';

/** A Redis key prefix of this test file's own; `clean()` deletes every key under it. */
export function testRedisPrefix(): { prefix: string; url: string; clean(): Promise<void> } {
  const prefix = `cctest${randomBytes(5).toString('hex')}`;
  const url = inject('services').redisUrl;
  return {
    prefix,
    url,
    async clean() {
      const redis = new Redis(url, { maxRetriesPerRequest: 1 });
      try {
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
          cursor = next;
          if (keys.length > 0) await redis.del(...keys);
        } while (cursor !== '0');
      } finally {
        redis.disconnect();
      }
    },
  };
}
