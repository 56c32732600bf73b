import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateToLatest, migrateToZero, pendingMigrations } from '../../../src/db/migrator.js';
import { createTestDatabase, ownerKysely, type TestDatabase } from '../../support/test-db.js';

async function tables(db: ReturnType<typeof ownerKysely>): Promise<string[]> {
  const { rows } = await sql<{ table_name: string }>`
    SELECT table_name FROM information_schema.tables
    WHERE table_schema = 'public' AND table_name NOT LIKE 'kysely_%' ORDER BY table_name
  `.execute(db);
  return rows.map((r) => r.table_name);
}

async function functions(db: ReturnType<typeof ownerKysely>): Promise<string[]> {
  const { rows } = await sql<{ proname: string }>`
    SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname = 'public' ORDER BY p.proname
  `.execute(db);
  return rows.map((r) => r.proname);
}

describe('migrations', () => {
  let target: TestDatabase;
  let owner: ReturnType<typeof ownerKysely>;

  beforeAll(async () => {
    target = await createTestDatabase({ empty: true });
    owner = ownerKysely(target.ownerUrl);
  });
  afterAll(async () => {
    await owner.destroy();
    await target.drop();
  });

  it('go up on a fresh database, down to zero leaving nothing behind, and up again', async () => {
    expect(await tables(owner)).toEqual([]);
    const up = await migrateToLatest(owner);
    expect(up.length).toBeGreaterThanOrEqual(5);
    const created = await tables(owner);
    expect(created).toEqual(
      expect.arrayContaining([
        'recipients',
        'devices',
        'notices',
        'consent_events',
        'consents',
        'offers',
        'offer_contents',
        'audience_lists',
        'audience_list_members',
        'campaigns',
        'campaign_runs',
        'run_exclusions',
        'messages',
        'message_events',
        'suppressions',
        'api_keys',
        'dsr_requests',
        'audit_log',
        'erasure_tombstones',
      ]),
    );
    expect(await pendingMigrations(owner)).toEqual([]);

    const down = await migrateToZero(owner);
    expect(down).toHaveLength(up.length);
    expect(await tables(owner)).toEqual([]);
    expect(await functions(owner)).toEqual([]);
    expect(await pendingMigrations(owner)).toHaveLength(up.length);

    await migrateToLatest(owner);
    expect(await tables(owner)).toEqual(created);
  });

  it('leave the application role owning nothing and unable to create tables', async () => {
    const { rows } = await sql<{ owner: string; n: number }>`
      SELECT tableowner AS owner, count(*)::int AS n FROM pg_tables WHERE schemaname = 'public' GROUP BY tableowner
    `.execute(owner);
    expect(rows).toEqual([{ owner: 'consentcast_owner', n: expect.any(Number) }]);
    await expect(sql`CREATE TABLE sneaky (id int)`.execute(target.db)).rejects.toThrow(/permission denied/);
  });
});
