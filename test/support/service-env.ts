import { randomBytes } from 'node:crypto';
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

/** The variables of .env.example, as they are: its secrets are placeholders that start refuses. */
export function exampleFile(): Record<string, string> {
  const parsed = parseEnv(readFileSync(`${ROOT}.env.example`, 'utf8'));
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(parsed)) if (v !== undefined) out[k] = v;
  return out;
}

/**
 * A random secret for this run, the same in every process of it: made by the first process that
 * asks, and handed down through the environment (bench children inherit it; test processes get it
 * with the rest of exampleEnv()), so that what one process signs or hashes another one matches.
 */
function runSecret(name: 'CC_RUN_SIGNING_SECRET' | 'CC_RUN_PSEUDONYM_SECRET'): string {
  const secret = process.env[name] ?? randomBytes(32).toString('base64url');
  process.env[name] = secret;
  return secret;
}

/**
 * .env.example with this run's own secrets: a complete, valid configuration for this machine. The
 * example's SIGNING_SECRET and PSEUDONYM_SECRET are placeholders, which start refuses.
 */
export function exampleEnv(): Record<string, string> {
  return {
    ...exampleFile(),
    SIGNING_SECRET: runSecret('CC_RUN_SIGNING_SECRET'),
    PSEUDONYM_SECRET: runSecret('CC_RUN_PSEUDONYM_SECRET'),
  };
}

/** Replaces the database name in a PostgreSQL URL. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}
