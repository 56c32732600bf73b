import { inject } from 'vitest';
import { type Fakes, providerEnv, startFakes } from '../fakes/fakes.js';
import { type RunningRole, startRole } from './process.js';
import { exampleEnv } from './service-env.js';
import { createTestApp, type TestApp } from './test-app.js';
import { createTestDatabase, type TestDatabase } from './test-db.js';

/**
 * A test database, the provider fakes, an in-process app (deps, API) and the environment to start
 * real `consentcast <role>` processes against them, all on this test file's own Redis prefix.
 */
export interface Stack {
  readonly t: TestDatabase;
  readonly fakes: Fakes;
  readonly api: TestApp;
  readonly env: Record<string, string>;
  /** Starts a role process (killed by close()). */
  start(role: string): RunningRole;
  /** SIGTERM, then waits for the exit; resolves with the exit code. */
  stop(role: RunningRole): Promise<number | null>;
  close(): Promise<void>;
}

export async function startStack(overrides: Record<string, string> = {}): Promise<Stack> {
  const t = await createTestDatabase();
  const fakes = await startFakes();
  const settings = {
    ...providerEnv(fakes.ports),
    QUIET_HOURS_DEFAULT: '00:00-00:00',
    ...overrides,
  };
  const api = await createTestApp(t, settings);
  const env = {
    ...exampleEnv(),
    ...settings,
    DATABASE_URL: t.appUrl,
    REDIS_URL: inject('services').redisUrl,
    QUEUE_PREFIX: api.config.redis.queuePrefix,
    WORKER_CONCURRENCY: '20',
    LOG_LEVEL: 'warn',
  };
  const children: RunningRole[] = [];
  return {
    t,
    fakes,
    api,
    env,
    start(role) {
      const child = startRole([role], env);
      children.push(child);
      return child;
    },
    async stop(role) {
      role.child.kill('SIGTERM');
      return role.exited;
    },
    async close() {
      for (const c of children) c.child.kill('SIGKILL');
      await Promise.all(children.map((c) => c.exited));
      await api.close();
      await fakes.close();
      await t.drop();
    },
  };
}
