import { Redis } from 'ioredis';

/** One personal value found where it must not be. */
export interface Leak {
  /** `redis <key>` or `log <source>#<line>`. */
  readonly where: string;
  readonly value: string;
  /** A short excerpt around the hit. */
  readonly excerpt: string;
}

/** The forms a phone number takes in text: E.164, without the plus, national (Latvia: +371). */
export function phoneForms(e164: string): string[] {
  const digits = e164.replace(/^\+/, '');
  const national = digits.startsWith('371') ? digits.slice(3) : undefined;
  return [e164, digits, ...(national === undefined ? [] : [national])];
}

/** Every value (case-insensitive) in one text; `where` names it in the report. */
export function findIn(where: string, text: string, values: readonly string[]): Leak[] {
  const lower = text.toLowerCase();
  const leaks: Leak[] = [];
  for (const value of values) {
    const at = lower.indexOf(value.toLowerCase());
    if (at >= 0) {
      leaks.push({ where, value, excerpt: text.slice(Math.max(0, at - 60), at + value.length + 60) });
    }
  }
  return leaks;
}

/** Every line of every captured log, searched for every value. */
export function sweepLogs(logs: Readonly<Record<string, string>>, values: readonly string[]): Leak[] {
  return Object.entries(logs).flatMap(([source, text]) =>
    text.split('\n').flatMap((line, i) => findIn(`log ${source}#${i + 1}`, line, values)),
  );
}

/** The whole content of one key, whatever its type, as text. */
async function contentOf(redis: Redis, key: string): Promise<{ type: string; text: string }> {
  const type = await redis.type(key);
  switch (type) {
    case 'string':
      return { type, text: (await redis.get(key)) ?? '' };
    case 'hash':
      return { type, text: JSON.stringify(await redis.hgetall(key)) };
    case 'list':
      return { type, text: JSON.stringify(await redis.lrange(key, 0, -1)) };
    case 'set':
      return { type, text: JSON.stringify(await redis.smembers(key)) };
    case 'zset':
      return { type, text: JSON.stringify(await redis.zrange(key, 0, -1, 'WITHSCORES')) };
    case 'stream':
      return { type, text: JSON.stringify(await redis.xrange(key, '-', '+')) };
    case 'none':
      return { type, text: '' };
    default:
      throw new Error(`the sweep cannot read a Redis ${type} (${key})`);
  }
}

export interface RedisSweep {
  readonly leaks: Leak[];
  /** How many keys of each type were read: a sweep that read nothing proves nothing. */
  readonly types: Record<string, number>;
}

/** SCANs every key under `prefix`, and searches each key name and its whole value for every value. */
export async function sweepRedis(
  url: string,
  prefix: string,
  values: readonly string[],
): Promise<RedisSweep> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  const leaks: Leak[] = [];
  const types: Record<string, number> = {};
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        const { type, text } = await contentOf(redis, key);
        types[type] = (types[type] ?? 0) + 1;
        leaks.push(...findIn(`redis key name ${key}`, key, values));
        leaks.push(...findIn(`redis ${type} ${key}`, text, values));
      }
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return { leaks, types };
}
