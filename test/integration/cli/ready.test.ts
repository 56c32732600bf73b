import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runConsentcast } from '../../support/cli.js';
import { exampleEnv } from '../../support/service-env.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: inject('services').pgAdminUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

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
    expect(Object.keys(report.checks)).toEqual(['postgres', 'redis', 'migrations', 'sending', 'role']);
  });

  it('refuses to call itself ready when connected as the schema owner', async () => {
    const env = { ...exampleEnv(), DATABASE_URL: t.ownerUrl, REDIS_URL: inject('services').redisUrl };
    const result = await runConsentcast(['ready'], env);
    expect(result.code).toBe(3);
    expect(result.stdout).toMatch(/FAIL\s+role\s+consentcast_owner is the schema owner/);
  });

  it('refuses to call itself ready when the application role is a member of the schema owner', async () => {
    // a throwaway role of this test: the application's privileges, and membership in the owner
    const name = `cc_test_member_${randomBytes(5).toString('hex')}`;
    await admin(async (client) => {
      await client.query(`CREATE ROLE ${name} LOGIN PASSWORD '${name}' IN ROLE consentcast_app`);
      await client.query(`GRANT CONNECT ON DATABASE "${t.name}" TO ${name}`);
    });
    try {
      const url = new URL(t.appUrl);
      url.username = name;
      url.password = name;
      const env = { ...exampleEnv(), DATABASE_URL: url.toString(), REDIS_URL: inject('services').redisUrl };
      const before = await runConsentcast(['ready'], env);
      expect(before.code, before.stdout).toBe(0);
      await admin((client) => client.query(`GRANT consentcast_owner TO ${name}`));
      const member = await runConsentcast(['ready'], env);
      expect(member.code).toBe(3);
      expect(member.stderr).toBe('');
      expect(member.stdout).toMatch(
        new RegExp(`FAIL\\s+role\\s+${name} is a member of consentcast_owner, which owns the schema`),
      );
      expect(member.stdout).toMatch(/consentcast is NOT ready/);
    } finally {
      await admin(async (client) => {
        await client.query(`REVOKE CONNECT ON DATABASE "${t.name}" FROM ${name}`);
        await client.query(`DROP ROLE ${name}`);
      });
    }
  });

  it('exits 3 and says which service is down when Redis does not answer', async () => {
    const env = { ...exampleEnv(), DATABASE_URL: t.appUrl, REDIS_URL: 'redis://127.0.0.1:1' };
    const result = await runConsentcast(['ready'], env);
    expect(result.code).toBe(3);
    expect(result.stdout).toMatch(/ok\s+postgres/);
    expect(result.stdout).toMatch(/FAIL\s+redis/);
  });
});
