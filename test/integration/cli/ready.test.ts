import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runConsentcast } from '../../support/cli.js';
import { exampleEnv } from '../../support/service-env.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';

describe('consentcast ready', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(() => t.drop());

  it('reports every check and exits 0 when PostgreSQL, Redis, migrations and the role are right', async () => {
    const env = { ...exampleEnv(), DATABASE_URL: t.appUrl, REDIS_URL: inject('services').redisUrl };
    const result = await runConsentcast(['ready', '--json'], env);
    expect(result.stderr).toBe('');
    expect(result.code, result.stdout).toBe(0);
    const report = JSON.parse(result.stdout) as { ready: boolean; checks: Record<string, { ok: boolean }> };
    expect(report.ready).toBe(true);
    expect(Object.keys(report.checks)).toEqual(['postgres', 'redis', 'migrations', 'role']);
  });

  it('refuses to call itself ready when connected as the schema owner', async () => {
    const env = { ...exampleEnv(), DATABASE_URL: t.ownerUrl, REDIS_URL: inject('services').redisUrl };
    const result = await runConsentcast(['ready'], env);
    expect(result.code).toBe(3);
    expect(result.stdout).toMatch(/FAIL\s+role\s+consentcast_owner is the schema owner/);
  });

  it('exits 3 and says which service is down when Redis does not answer', async () => {
    const env = { ...exampleEnv(), DATABASE_URL: t.appUrl, REDIS_URL: 'redis://127.0.0.1:1' };
    const result = await runConsentcast(['ready'], env);
    expect(result.code).toBe(3);
    expect(result.stdout).toMatch(/ok\s+postgres/);
    expect(result.stdout).toMatch(/FAIL\s+redis/);
  });
});
