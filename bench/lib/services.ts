import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { Services } from './types.js';

/** Written by `bash scripts/services.sh up`: `export NAME='value'` lines. */
export const SERVICES_ENV_FILE = fileURLToPath(new URL('../../.data/services.env', import.meta.url));

export const START_SERVICES_HINT = 'run `bash scripts/services.sh up`';

type Env = Readonly<Record<string, string | undefined>>;

/** Parses the `export NAME='value'` lines that scripts/services.sh writes (single-quoted, '\'' escapes). */
export function parseServicesEnv(text: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const match = /^\s*(?:export\s+)?([A-Z_][A-Z0-9_]*)=(.*)$/.exec(raw);
    const name = match?.[1];
    const value = match?.[2];
    if (name === undefined || value === undefined) continue;
    vars[name] = value.startsWith("'") ? value.slice(1, -1).replaceAll("'\\''", "'") : value;
  }
  return vars;
}

async function readServicesFile(): Promise<Env> {
  try {
    return parseServicesEnv(await readFile(SERVICES_ENV_FILE, 'utf8'));
  } catch {
    return {};
  }
}

/**
 * PostgreSQL and Redis each come wholly from the environment when their main variable is set there
 * (DATABASE_URL, REDIS_URL), else from .data/services.env: never half from each, which could pair an
 * admin URL of one server with an app URL of another.
 */
export async function findServices(env: Env = process.env): Promise<Services | { problem: string }> {
  const file = env.DATABASE_URL === undefined || env.REDIS_URL === undefined ? await readServicesFile() : {};
  const pgVars = env.DATABASE_URL === undefined ? file : env;
  const redisVars = env.REDIS_URL === undefined ? file : env;
  const appUrl = pgVars.DATABASE_URL;
  const redisUrl = redisVars.REDIS_URL;
  if (appUrl === undefined || redisUrl === undefined) {
    return { problem: `DATABASE_URL or REDIS_URL is not set and ${SERVICES_ENV_FILE} does not name them` };
  }
  const ownerUrl = pgVars.DATABASE_OWNER_URL ?? appUrl;
  return { appUrl, ownerUrl, adminUrl: pgVars.PG_ADMIN_URL ?? ownerUrl, redisUrl };
}

/** host:port/database without credentials, for messages. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    return `${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return '(unparsable URL)';
  }
}

function reason(err: unknown): string {
  if (err instanceof Error) {
    const code = 'code' in err && typeof err.code === 'string' ? err.code : undefined;
    return code ?? err.message;
  }
  return String(err);
}

async function pingPostgres(url: string): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (err) {
    return `PostgreSQL at ${redact(url)} did not answer (${reason(err)})`;
  } finally {
    await client.end().catch(() => {});
  }
}

async function pingRedis(url: string): Promise<string | undefined> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 3_000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  // connect() rejects with a bare "Connection is closed."; the cause arrives as an 'error' event.
  let cause: unknown;
  redis.on('error', (err) => {
    cause = err;
  });
  try {
    await redis.connect();
    await redis.ping();
    return undefined;
  } catch (err) {
    return `Redis at ${redact(url)} did not answer (${reason(cause ?? err)})`;
  } finally {
    redis.disconnect();
  }
}

/** Undefined when every service answers; otherwise one line naming what did not. */
export async function checkServices(services: Services): Promise<string | undefined> {
  const urls = [...new Set([services.adminUrl, services.ownerUrl, services.appUrl])];
  const problems = (await Promise.all([...urls.map(pingPostgres), pingRedis(services.redisUrl)])).filter(
    (p): p is string => p !== undefined,
  );
  return problems.length === 0 ? undefined : problems.join('; ');
}
