import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort, type RunningRole, startRole, waitFor } from '../../support/process.js';
import { exampleEnv } from '../../support/service-env.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';

async function readyz(port: number): Promise<{ status: number; body: { ready: boolean } }> {
  const res = await fetch(`http://127.0.0.1:${port}/readyz`);
  return { status: res.status, body: (await res.json()) as { ready: boolean } };
}

describe('a running process whose connections are cut', () => {
  let t: TestDatabase;
  let api: RunningRole;
  let port: number;

  beforeAll(async () => {
    t = await createTestDatabase();
    port = await freePort();
    api = startRole(['api'], {
      ...exampleEnv(),
      DATABASE_URL: t.appUrl,
      REDIS_URL: inject('services').redisUrl,
      HTTP_PORT: String(port),
      LOG_LEVEL: 'warn',
    });
    await waitFor('the api to be ready', async () => (await readyz(port)).status === 200);
  });
  afterAll(async () => {
    api.child.kill('SIGKILL');
    await t.drop();
  });

  it('survives PostgreSQL terminating every backend it holds, and recovers on the next request', async () => {
    const admin = new pg.Client({ connectionString: inject('services').pgAdminUrl });
    await admin.connect();
    try {
      const { rows } = await admin.query<{ n: number }>(
        'SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        [t.name],
      );
      expect(rows[0]?.n).toBeGreaterThan(0);
    } finally {
      await admin.end();
    }
    await waitFor('readiness after the PostgreSQL cut', async () => (await readyz(port)).body.ready);
    expect(api.child.exitCode).toBeNull();
  });

  it('survives Redis killing its connection, and reconnects', async () => {
    const redis = new Redis(inject('services').redisUrl);
    try {
      // Only this api's connections (named by its pid): other test files share the Redis server.
      const clients = (await redis.client('LIST')) as string;
      const ours = clients
        .split('\n')
        .filter((line) => line.includes(`name=consentcast-producer-${api.child.pid} `))
        .map((line) => /id=(\d+)/.exec(line)?.[1])
        .filter((id): id is string => id !== undefined);
      expect(ours.length).toBeGreaterThan(0);
      for (const id of ours) await redis.client('KILL', 'ID', id);
    } finally {
      redis.disconnect();
    }
    await waitFor('readiness after the Redis cut', async () => (await readyz(port)).body.ready);
    expect(api.child.exitCode).toBeNull();
  });

  it('stops cleanly on SIGTERM with exit code 0', async () => {
    api.child.kill('SIGTERM');
    expect(await api.exited).toBe(0);
  });
});
