import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consentBlockReasonSql } from '../../../src/consent/consent.sql.js';
import { type ConsentStatus, consentDecision } from '../../../src/consent/decision.js';
import { NOTICE_VERSION, seedNotice } from '../../support/fixtures.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';

describe('the consent decision in SQL', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
    await seedNotice(t.db);
  });
  afterAll(() => t.drop());

  it('gives the same answer and reason as the pure function for every state and marker combination', async () => {
    const statuses: (ConsentStatus | undefined)[] = [undefined, 'granted', 'withdrawn', 'lapsed'];
    const cases: {
      id: number;
      status: ConsentStatus | undefined;
      erased: boolean;
      objected: boolean;
      restricted: boolean;
    }[] = [];
    let n = 0;
    for (const status of statuses) {
      for (let mask = 0; mask < 8; mask++) {
        n += 1;
        const erased = (mask & 1) === 1;
        const objected = (mask & 2) === 2;
        const restricted = (mask & 4) === 4;
        const now = new Date();
        const row = await t.db
          .insertInto('recipients')
          .values({
            client_number: erased ? null : `D-${n}`,
            erased_at: erased ? now : null,
            objected_at: objected ? now : null,
            restricted_at: restricted ? now : null,
          })
          .returning('id')
          .executeTakeFirstOrThrow();
        if (status !== undefined) {
          await t.db
            .insertInto('consents')
            .values({
              recipient_id: row.id,
              purpose: 'feedback',
              channel: 'push',
              status,
              source: 'api',
              occurred_at: now,
              notice_version: status === 'granted' ? NOTICE_VERSION : null,
            })
            .execute();
        }
        cases.push({ id: row.id, status, erased, objected, restricted });
      }
    }
    const rows = await t.db
      .selectFrom('recipients as r')
      .leftJoin('consents as c', (join) =>
        join
          .onRef('c.recipient_id', '=', 'r.id')
          .on('c.purpose', '=', 'feedback')
          .on('c.channel', '=', 'push'),
      )
      .select(['r.id', consentBlockReasonSql('r', 'c').as('reason')])
      .execute();
    expect(rows).toHaveLength(cases.length);
    for (const c of cases) {
      const decision = consentDecision(c.status, c);
      const sqlReason = rows.find((r) => r.id === c.id)?.reason ?? null;
      expect(sqlReason, JSON.stringify(c)).toBe(decision.allowed ? null : decision.reason);
    }
  });
});
