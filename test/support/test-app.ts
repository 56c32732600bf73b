import { Writable } from 'node:stream';
import { createApiKey } from '../../src/auth/api-keys.js';
import { SCOPES, type Scope } from '../../src/auth/scopes.js';
import { type Config, loadConfig } from '../../src/config/config.js';
import { buildDeps, closeDeps, type Deps } from '../../src/deps.js';
import { buildHttpApp } from '../../src/http/app.js';
import type { TypedApp } from '../../src/http/context.js';
import { createLogger } from '../../src/logging/logger.js';
import { exampleEnv } from './service-env.js';
import type { TestDatabase } from './test-db.js';
import { testRedisPrefix } from './test-redis.js';

export interface TestApp {
  readonly app: TypedApp;
  readonly deps: Deps;
  readonly config: Config;
  /** Every log line the app wrote (JSON), for privacy assertions. */
  readonly logs: string[];
  /** A fresh API key with these scopes (all scopes by default). */
  key(scopes?: readonly Scope[]): Promise<string>;
  close(): Promise<void>;
}

export function testConfig(
  t: TestDatabase,
  redisUrl: string,
  overrides: Record<string, string> = {},
): Config {
  const loaded = loadConfig({
    ...exampleEnv(),
    DATABASE_URL: t.appUrl,
    REDIS_URL: redisUrl,
    LOG_LEVEL: 'info',
    ...overrides,
  });
  if (!loaded.ok) throw new Error(`test configuration is invalid: ${JSON.stringify(loaded.problems)}`);
  return loaded.config;
}

/** The real HTTP app on a test database, driven in-process with `app.inject`. */
export async function createTestApp(
  t: TestDatabase,
  overrides: Record<string, string> = {},
): Promise<TestApp> {
  const redis = testRedisPrefix();
  const config = testConfig(t, redis.url, { QUEUE_PREFIX: redis.prefix, ...overrides });
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(chunk.toString());
      done();
    },
  });
  const deps = buildDeps(config, {
    role: 'test-api',
    logger: createLogger({
      level: config.logLevel === 'silent' ? 'info' : config.logLevel,
      name: 'test-api',
      destination,
    }),
  });
  const app = await buildHttpApp(deps);
  await app.ready();
  let n = 0;
  return {
    app,
    deps,
    config,
    logs,
    async key(scopes = SCOPES) {
      n += 1;
      const created = await createApiKey(deps.db, { name: `test-key-${n}`, scopes, createdBy: 'test' });
      return created.key;
    },
    async close() {
      await app.close();
      await closeDeps(deps);
      await redis.clean();
    },
  };
}
