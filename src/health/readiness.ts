import { sql } from 'kysely';
import { untyped } from '../db/database.js';
import { pendingMigrations } from '../db/migrator.js';
import type { Deps } from '../deps.js';
import { openStops } from '../ops/stops.repository.js';

export interface CheckResult {
  readonly ok: boolean;
  readonly detail: string;
}

export interface Readiness {
  readonly ready: boolean;
  readonly checks: {
    readonly postgres: CheckResult;
    readonly redis: CheckResult;
    readonly migrations: CheckResult;
    /**
     * Open emergency stops: always ok (a stop is a decision, not a fault, and a stopped api must
     * stay in service to resume it), the detail says what is stopped since when.
     */
    readonly sending: CheckResult;
  };
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Producer connections do not queue commands while connecting: wait for the connection first. */
async function pingRedis(redis: Deps['redis'], timeoutMs: number): Promise<string> {
  if (redis.status !== 'ready') {
    await new Promise<void>((resolve, reject) => {
      const onReady = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        redis.off('ready', onReady);
        reject(new Error(`Redis is not connected (${redis.status})`));
      }, timeoutMs);
      redis.once('ready', onReady);
    });
  }
  return redis.ping();
}

/** PostgreSQL and Redis reachable and every migration applied (/readyz, `consentcast ready`). */
export async function checkReadiness(
  deps: Pick<Deps, 'db' | 'redis'>,
  timeoutMs = 2_000,
): Promise<Readiness> {
  const postgres = await withTimeout(sql`SELECT 1`.execute(deps.db), timeoutMs, 'PostgreSQL').then(
    () => ({ ok: true, detail: 'reachable' }),
    (err: unknown) => ({ ok: false, detail: describe(err) }),
  );
  const redis = await withTimeout(pingRedis(deps.redis, timeoutMs), timeoutMs, 'Redis').then(
    (pong) => ({ ok: pong === 'PONG', detail: pong === 'PONG' ? 'reachable' : `answered ${pong}` }),
    (err: unknown) => ({ ok: false, detail: describe(err) }),
  );
  const migrations = postgres.ok
    ? await withTimeout(pendingMigrations(untyped(deps.db)), timeoutMs, 'PostgreSQL').then(
        (pending) =>
          pending.length === 0
            ? { ok: true, detail: 'current' }
            : { ok: false, detail: `pending: ${pending.join(', ')}` },
        (err: unknown) => ({ ok: false, detail: describe(err) }),
      )
    : { ok: false, detail: 'unknown (PostgreSQL unreachable)' };
  const sending = postgres.ok
    ? await withTimeout(openStops(deps.db), timeoutMs, 'PostgreSQL').then(
        (stops) => ({
          ok: true,
          detail:
            stops.length === 0
              ? 'no emergency stop open'
              : stops
                  .map(
                    (st) =>
                      `STOPPED ${st.scope === 'all' ? 'on every channel' : `on ${st.scope}`} since ${st.stopped_at.toISOString()}`,
                  )
                  .join('; '),
        }),
        (err: unknown) => ({ ok: true, detail: `unknown (${describe(err)})` }),
      )
    : { ok: true, detail: 'unknown (PostgreSQL unreachable)' };
  return {
    ready: postgres.ok && redis.ok && migrations.ok,
    checks: { postgres, redis, migrations, sending },
  };
}
