import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';

// Migration 0014 dropped the outbox's and the exclusion log's foreign keys to people, offers and runs
// (a check per written row); what keeps those rows pointing at something is that the parents can never
// be deleted. This holds it: for the application role by privilege, for the owner by trigger.
const PARENTS = ['recipients', 'offers', 'campaign_runs'] as const;

describe('people, offers and runs are never deleted (migration 0014, docs/data-model.md)', () => {
  let t: TestDatabase;

  beforeAll(async () => {
    t = await createTestDatabase();
    await t.db.insertInto('recipients').values({ client_number: 'C-1', locale: 'lv' }).execute();
  });
  afterAll(() => t.drop());

  it('the application role may not DELETE or TRUNCATE them', async () => {
    for (const table of PARENTS) {
      await expect(sql`DELETE FROM ${sql.table(table)}`.execute(t.db)).rejects.toThrow(/permission denied/);
      await expect(sql`TRUNCATE ${sql.table(table)} CASCADE`.execute(t.db)).rejects.toThrow(
        /permission denied/,
      );
    }
  });

  it('the schema owner is refused too: the triggers hold without the privilege check', async () => {
    const owner = new pg.Client({ connectionString: t.ownerUrl });
    await owner.connect();
    try {
      for (const table of PARENTS) {
        await expect(owner.query(`DELETE FROM ${table}`)).rejects.toThrow(/never deleted/);
        await expect(owner.query(`TRUNCATE ${table} CASCADE`)).rejects.toThrow(/never deleted/);
      }
      const { rows } = await owner.query<{ n: number }>('SELECT count(*)::int AS n FROM recipients');
      expect(rows).toEqual([{ n: 1 }]);
    } finally {
      await owner.end();
    }
  });
});
