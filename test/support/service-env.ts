import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseEnv } from 'node:util';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface ServiceUrls {
  pgAdminUrl: string;
  ownerUrl: string;
  appUrl: string;
  redisUrl: string;
}

/** The URLs of PostgreSQL and Redis: from the environment, else from what scripts/services.sh wrote. */
export function serviceUrls(): ServiceUrls {
  const file = `${ROOT}.data/services.env`;
  const fromFile: Record<string, string | undefined> = existsSync(file)
    ? parseEnv(readFileSync(file, 'utf8').replace(/^export /gm, ''))
    : {};
  const get = (key: string): string | undefined => process.env[key] ?? fromFile[key];
  const appUrl = get('DATABASE_URL');
  const redisUrl = get('REDIS_URL');
  if (appUrl === undefined || redisUrl === undefined) {
    throw new Error(
      'PostgreSQL and Redis are not configured: run `bash scripts/services.sh up` (or `npm test`, which does it), or set DATABASE_URL, DATABASE_OWNER_URL, PG_ADMIN_URL and REDIS_URL',
    );
  }
  const ownerUrl = get('DATABASE_OWNER_URL') ?? appUrl;
  return { appUrl, ownerUrl, pgAdminUrl: get('PG_ADMIN_URL') ?? ownerUrl, redisUrl };
}

/** The variables of .env.example: a complete, valid configuration for this machine. */
export function exampleEnv(): Record<string, string> {
  const parsed = parseEnv(readFileSync(`${ROOT}.env.example`, 'utf8'));
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(parsed)) if (v !== undefined) out[k] = v;
  return out;
}

/** Replaces the database name in a PostgreSQL URL. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}
