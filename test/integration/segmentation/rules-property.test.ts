import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consentBlockReasonSql } from '../../../src/consent/consent.sql.js';
import { consentDecision } from '../../../src/consent/decision.js';
import type { JsonValue } from '../../../src/db/schema.js';
import { compileRule } from '../../../src/segmentation/compile.js';
import { evaluateRule } from '../../../src/segmentation/evaluate.js';
import { clockAt, parseRule } from '../../../src/segmentation/rules.js';
import { NOTICE_VERSION, seedNotice } from '../../support/fixtures.js';
import { attributeValues, LOCALES, rules, ZONES } from '../../support/rule-arbitraries.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';

const NOW = new Date();
const CLOCK = clockAt(NOW);

const personArb = fc.record({
  locale: fc.constantFrom(...LOCALES),
  timeZone: fc.constantFrom(...ZONES),
  birthDate: fc.option(
    fc
      .integer({ min: 5, max: 85 * 365 })
      .map((d) => new Date(NOW.getTime() - d * 86_400_000).toISOString().slice(0, 10)),
  ),
  attributes: attributeValues(NOW.getTime()),
  profilingObjected: fc.boolean(),
  restricted: fc.boolean(),
  consent: fc.constantFrom(undefined, 'granted' as const, 'withdrawn' as const),
  lists: fc.subarray([0, 1]),
});

describe('compiled audience rules', () => {
  let t: TestDatabase;
  const listIds: number[] = [];
  beforeAll(async () => {
    t = await createTestDatabase();
    await seedNotice(t.db);
    for (const name of ['vip', 'pilot']) {
      const row = await t.db
        .insertInto('audience_lists')
        .values({ name, created_by: 'test' })
        .returning('id')
        .executeTakeFirstOrThrow();
      listIds.push(row.id);
    }
  });
  afterAll(() => t.drop());

  it('select, together with consent, exactly the people the in-memory evaluator selects', async () => {
    let run = 0;
    let discriminating = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(personArb, { minLength: 1, maxLength: 25 }),
        rules(listIds),
        async (people, rule) => {
          run += 1;
          const parsed = parseRule(JSON.parse(JSON.stringify(rule)) as unknown);
          expect(parsed.ok, JSON.stringify(parsed)).toBe(true);
          const ids: number[] = [];
          for (const [i, p] of people.entries()) {
            const row = await t.db
              .insertInto('recipients')
              .values({
                client_number: `S-${run}-${i}`,
                locale: p.locale,
                time_zone: p.timeZone,
                birth_date: p.birthDate,
                attributes: JSON.stringify(p.attributes),
                profiling_objected_at: p.profilingObjected ? NOW : null,
                restricted_at: p.restricted ? NOW : null,
              })
              .returning('id')
              .executeTakeFirstOrThrow();
            ids.push(row.id);
            if (p.consent) {
              await t.db
                .insertInto('consents')
                .values({
                  recipient_id: row.id,
                  purpose: 'service_offers',
                  channel: 'email',
                  status: p.consent,
                  source: 'api',
                  occurred_at: NOW,
                  notice_version: NOTICE_VERSION,
                })
                .execute();
            }
            for (const l of p.lists) {
              const listId = listIds[l];
              if (listId !== undefined)
                await t.db
                  .insertInto('audience_list_members')
                  .values({ list_id: listId, recipient_id: row.id })
                  .execute();
            }
          }
          // each run reads only its own people (the app role may not delete consent state)
          const selected = await t.db
            .selectFrom('recipients as r')
            .leftJoin('consents as c', (j) =>
              j
                .onRef('c.recipient_id', '=', 'r.id')
                .on('c.purpose', '=', 'service_offers')
                .on('c.channel', '=', 'email'),
            )
            .select('r.id')
            .where('r.id', 'in', ids)
            .where(sql<boolean>`(${compileRule(rule, 'r', CLOCK)}) IS TRUE`)
            .where(consentBlockReasonSql('r', 'c'), 'is', null)
            .orderBy('r.id')
            .execute();
          const expected = ids.filter((_id, i) => {
            const p = people[i];
            if (!p) return false;
            const facts = {
              locale: p.locale,
              timeZone: p.timeZone,
              birthDate: p.birthDate,
              attributes: p.attributes as Record<string, JsonValue>,
              profilingObjected: p.profilingObjected,
              lists: new Set(p.lists.map((l) => listIds[l] ?? -1)),
            };
            const consent = consentDecision(p.consent, {
              erased: false,
              objected: false,
              restricted: p.restricted,
            });
            return evaluateRule(rule, facts, CLOCK) === true && consent.allowed;
          });
          expect(selected.map((r) => r.id)).toEqual(expected);
          if (expected.length > 0 && expected.length < ids.length) discriminating += 1;
        },
      ),
      { numRuns: 150 },
    );
    // not vacuous: many runs selected some people and left others out
    expect(discriminating).toBeGreaterThan(15);
  });
});
