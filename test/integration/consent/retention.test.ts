import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM } from '../../../src/auth/actor.js';
import { type ConsentChange, recordConsentChanges } from '../../../src/consent/ledger.js';
import { runRetention } from '../../../src/consent/retention.js';
import { NOTICE_VERSION, seedNotice } from '../../support/fixtures.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';

const SECRET = 'retention-test-pseudonym-secret-0123456789';
const yearsAgo = (years: number, days = 0) => new Date(Date.now() - (years * 365.25 + days) * 86_400_000);

describe('retention of consent evidence (N11)', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
    await seedNotice(t.db);
  });
  afterAll(() => t.drop());

  async function person(n: number, changes: ConsentChange[]): Promise<number> {
    const row = await t.db
      .insertInto('recipients')
      .values({ client_number: `R-${n}` })
      .returning('id')
      .executeTakeFirstOrThrow();
    await t.db.transaction().execute((trx) =>
      recordConsentChanges(trx, SECRET, {
        recipientId: row.id,
        changes,
        source: 'import',
        actor: SYSTEM,
        noticeVersion: NOTICE_VERSION,
        evidence: {},
        reason: 'test',
      }),
    );
    return row.id;
  }

  const ev = (
    action: ConsentChange['action'],
    at: Date,
    channel: ConsentChange['channel'] = 'email',
  ): ConsentChange => ({
    purpose: 'service_offers',
    channel,
    action,
    occurredAt: at,
  });

  it('deletes exactly the evidence past its date, for withdrawals and lapses alike, and nothing in force', async () => {
    // The clock is controlled through the data: a withdrawal six years ago is past its date, one
    // four years ago is not.
    const expiredWithdrawal = await person(1, [ev('grant', yearsAgo(8)), ev('withdraw', yearsAgo(6))]);
    const expiredLapse = await person(2, [ev('grant', yearsAgo(9)), ev('lapse', yearsAgo(5, 2))]);
    const recentWithdrawal = await person(3, [ev('grant', yearsAgo(8)), ev('withdraw', yearsAgo(4))]);
    const justBefore = await person(4, [ev('grant', yearsAgo(7)), ev('lapse', yearsAgo(5, -2))]);
    const inForce = await person(5, [ev('grant', yearsAgo(12))]);
    // an old episode ended long ago, then consent was given again: the old episode goes, the grant stays
    const regranted = await person(6, [
      ev('grant', yearsAgo(10)),
      ev('withdraw', yearsAgo(7)),
      ev('grant', yearsAgo(3)),
    ]);
    // another channel of the same person is its own clock
    const otherChannel = await person(7, [
      ev('grant', yearsAgo(9), 'sms'),
      ev('withdraw', yearsAgo(8), 'sms'),
      ev('grant', yearsAgo(9)),
    ]);

    const result = await runRetention(t.db, SYSTEM);
    expect(result.deleted).toBe(2 + 2 + 2 + 2);

    const left = async (id: number) =>
      (
        await t.db
          .selectFrom('consent_events')
          .select(['action', 'channel'])
          .where('recipient_id', '=', id)
          .orderBy('occurred_at')
          .execute()
      ).map((e) => `${e.channel}:${e.action}`);
    expect(await left(expiredWithdrawal)).toEqual([]);
    expect(await left(expiredLapse)).toEqual([]);
    expect(await left(recentWithdrawal)).toEqual(['email:grant', 'email:withdraw']);
    expect(await left(justBefore)).toEqual(['email:grant', 'email:lapse']);
    expect(await left(inForce)).toEqual(['email:grant']);
    expect(await left(regranted)).toEqual(['email:grant']);
    expect(await left(otherChannel)).toEqual(['email:grant']);

    // current state is untouched by retention, and running it again deletes nothing more
    const state = await t.db
      .selectFrom('consents')
      .select('status')
      .where('recipient_id', '=', regranted)
      .executeTakeFirstOrThrow();
    expect(state.status).toBe('granted');
    expect((await runRetention(t.db, SYSTEM)).deleted).toBe(0);

    const auditRow = await t.db
      .selectFrom('audit_log')
      .select(['action', 'details'])
      .where('action', '=', 'retention.run')
      .orderBy('id')
      .executeTakeFirstOrThrow();
    expect(auditRow.details).toMatchObject({ deleted: 8 });
  });
});
