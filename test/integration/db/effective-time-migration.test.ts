import { readdirSync } from 'node:fs';
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMigrator, MIGRATIONS_DIR, migrateToLatest } from '../../../src/db/migrator.js';
import { NOTICE_VERSION, seedNotice } from '../../support/fixtures.js';
import { createTestDatabase, ownerKysely, type TestDatabase } from '../../support/test-db.js';

const MIGRATION = '0018_consent_effective_time';
/** The migration just before 0018, whatever it is called. */
const BEFORE = readdirSync(MIGRATIONS_DIR)
  .map((f) => /^(\d{4}_[a-z0-9_]+)\.(ts|js)$/.exec(f)?.[1])
  .filter((n): n is string => n !== undefined && n < MIGRATION)
  .sort()
  .at(-1);

const MINUTE = 60_000;

/**
 * Migration 0018 (docs/data-model.md, "When a consent change takes effect"): existing states are held
 * to the new rule only towards withdrawal, and retention follows effective times.
 */
describe('migration 0018, consent effective time', () => {
  let t: TestDatabase;
  let owner: Kysely<unknown>;
  const base = Date.now() - 60 * MINUTE;
  const at = (minutes: number) => new Date(base + minutes * MINUTE);

  beforeAll(async () => {
    t = await createTestDatabase();
    await seedNotice(t.db);
    owner = ownerKysely(t.ownerUrl);
    if (BEFORE === undefined) throw new Error('no migration before 0018');
    const { error } = await createMigrator(owner).migrateTo(BEFORE);
    if (error) throw error;
  });
  afterAll(async () => {
    await owner.destroy();
    await t.drop();
  });

  /** A person with these events (as the owner: recorded_at given) and the state the old rule left. */
  async function seed(
    clientNumber: string,
    events: readonly { action: 'grant' | 'withdraw'; occurred: Date; recorded: Date }[],
    decidedBy: number,
  ): Promise<number> {
    const { rows } = await sql<{ id: number }>`
      INSERT INTO recipients (client_number) VALUES (${clientNumber}) RETURNING id
    `.execute(owner);
    const id = Number(rows[0]?.id);
    const ids: number[] = [];
    for (const e of events) {
      const grant = e.action === 'grant';
      const inserted = await sql<{ id: number }>`
        INSERT INTO consent_events (recipient_id, purpose, channel, action, source, notice_version, notice_sha256,
                                    occurred_at, recorded_at)
        SELECT ${id}, 'service_offers', 'sms', ${e.action}, 'app', ${grant ? NOTICE_VERSION : null},
               ${grant ? sql`text_sha256` : null}, ${e.occurred}, ${e.recorded}
        FROM notices WHERE version = ${NOTICE_VERSION}
        RETURNING id
      `.execute(owner);
      ids.push(Number(inserted.rows[0]?.id));
    }
    const deciding = events[decidedBy];
    if (deciding === undefined) throw new Error('no deciding event');
    await sql`
      INSERT INTO consents (recipient_id, purpose, channel, status, source, occurred_at, event_id, notice_version,
                            updated_at)
      VALUES (${id}, 'service_offers', 'sms', ${deciding.action === 'grant' ? 'granted' : 'withdrawn'}, 'app',
              ${deciding.occurred}, ${ids[decidedBy]}, ${deciding.action === 'grant' ? NOTICE_VERSION : null},
              ${deciding.recorded})
    `.execute(owner);
    return id;
  }

  async function stateOf(id: number) {
    const { rows } = await sql<{ status: string; occurred_at: Date; recorded_at: Date; effective_at: Date }>`
      SELECT status, occurred_at, recorded_at, effective_at FROM consents WHERE recipient_id = ${id}
    `.execute(owner);
    return rows[0];
  }

  it('withdraws the grants a later withdrawal outranks, leaves the rest, and never grants', async () => {
    // the issue: a grant from a client two minutes fast, then a STOP a minute later; the old rule kept the grant
    const fastGrant = await seed(
      'M-1',
      [
        { action: 'grant', occurred: at(2), recorded: at(0) },
        { action: 'withdraw', occurred: at(1), recorded: at(1) },
      ],
      0,
    );
    // a withdrawal from a client four minutes fast, then a grant two minutes later: the new rule would
    // grant, the migration does not
    const fastWithdrawal = await seed(
      'M-2',
      [
        { action: 'withdraw', occurred: at(4), recorded: at(0) },
        { action: 'grant', occurred: at(2), recorded: at(2) },
      ],
      0,
    );
    const plain = await seed('M-3', [{ action: 'grant', occurred: at(-10), recorded: at(-9) }], 0);

    await migrateToLatest(owner);

    expect(await stateOf(fastGrant)).toEqual({
      status: 'withdrawn',
      occurred_at: at(1),
      recorded_at: at(1),
      effective_at: at(1),
    });
    expect(await stateOf(fastWithdrawal)).toEqual({
      status: 'withdrawn',
      occurred_at: at(4),
      recorded_at: at(0),
      effective_at: at(0),
    });
    expect(await stateOf(plain)).toEqual({
      status: 'granted',
      occurred_at: at(-10),
      recorded_at: at(-9),
      effective_at: at(-10),
    });
    const { rows } = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM consent_events WHERE effective_at <> LEAST(occurred_at, recorded_at)
    `.execute(owner);
    expect(rows).toEqual([{ n: 0 }]);
  });

  it('lets retention take a fast-clock grant with the withdrawal that ended it, and keep a grant in force', async () => {
    await migrateToLatest(owner);
    const yearsAgo = (years: number, minutes = 0) =>
      new Date(Date.now() - years * 365.25 * 86_400_000 + minutes * MINUTE);
    const ended = await seed(
      'M-4',
      [
        { action: 'grant', occurred: yearsAgo(6, 2), recorded: yearsAgo(6) },
        { action: 'withdraw', occurred: yearsAgo(6, 1), recorded: yearsAgo(6, 1) },
      ],
      1,
    );
    const inForce = await seed(
      'M-5',
      [{ action: 'grant', occurred: yearsAgo(9, 2), recorded: yearsAgo(9) }],
      0,
    );
    await sql`SELECT consentcast_purge_consent_events()`.execute(owner);
    const left = await sql<{ recipient_id: number }>`
      SELECT recipient_id FROM consent_events WHERE recipient_id IN (${ended}, ${inForce})
    `.execute(owner);
    expect(left.rows.map((r) => Number(r.recipient_id))).toEqual([inForce]);
  });
});
