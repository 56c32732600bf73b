import fc from 'fast-check';
import {
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  sql,
} from 'kysely';
import { describe, expect, it } from 'vitest';
import type { Database } from '../../../src/db/schema.js';
import { compileRule } from '../../../src/segmentation/compile.js';
import { clockAt, parseRule, type Rule } from '../../../src/segmentation/rules.js';
import { rules } from '../../support/rule-arbitraries.js';

// Compiles only: no database needed to read the SQL text.
const db = new Kysely<Database>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (k) => new PostgresIntrospector(k),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
});

function compiled(rule: Rule) {
  return db
    .selectFrom('recipients as r')
    .select('r.id')
    .where(sql<boolean>`(${compileRule(rule, 'r', clockAt(new Date('2026-01-01T00:00:00Z')))}) IS TRUE`)
    .compile();
}

/**
 * Every free string the rule carries: attribute names, values, interests, list items. `op` and
 * `profile` are closed vocabularies that select fixed SQL (profile: 'locale' is the locale column).
 */
function stringsOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsOf);
  if (value !== null && typeof value === 'object') {
    return Object.entries(value)
      .filter(([k]) => k !== 'op' && k !== 'profile')
      .flatMap(([, v]) => stringsOf(v));
  }
  return [];
}

describe('audience rules against hostile input', () => {
  it('reject attribute names, operators and shapes outside the vocabulary, naming each', () => {
    const result = parseRule({
      all: [
        { attr: "name'); DROP TABLE recipients; --", op: 'eq', value: 1 },
        { attr: 'score', op: 'LIKE', value: '%' },
        { attr: 'attributes->>email', op: 'exists' },
        { attr: 'score', op: 'gt', value: '1 OR 1=1' },
        { activity: 'last_purchase_at' },
        { profile: 'email', in: ['x'] },
        { inList: '1; DELETE FROM audience_lists' },
        { sql: 'true' },
        { attr: 'score', op: 'eq', value: { $ne: null } },
      ],
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.map((p) => p.field)).toEqual([
      'audience/all/0/attr',
      'audience/all/1/op',
      'audience/all/2/attr',
      'audience/all/3/value',
      'audience/all/4',
      'audience/all/5/profile',
      'audience/all/6/inList',
      'audience/all/7',
      'audience/all/8/value',
    ]);
  });

  it('refuses rules that nest too deep or grow too large', () => {
    let deep: unknown = { interest: 'travel' };
    for (let i = 0; i < 10; i++) deep = { not: deep };
    expect(parseRule(deep).ok).toBe(false);
    expect(parseRule({ any: Array.from({ length: 300 }, () => ({ interest: 'x' })) }).ok).toBe(false);
  });

  it('never put any string of a rule into the SQL text: values are bound parameters', () => {
    const hostile: Rule = {
      any: [
        { attr: 'tier', op: 'eq', value: "gold'; DROP TABLE recipients; --" },
        { attr: 'tier', op: 'in', value: ['a"b', "c'd", '\\x00'] },
        { interest: "travel') OR true --" },
        { profile: 'time_zone', in: ["Europe/Riga' OR '1'='1"] },
        { activity: 'last_purchase_at', olderThanDays: 30 },
      ],
    };
    const query = compiled(hostile);
    for (const s of stringsOf(hostile)) expect(query.sql).not.toContain(s);
    expect(query.parameters).toEqual(
      expect.arrayContaining(['"gold\'; DROP TABLE recipients; --"', 'last_purchase_at']),
    );
  });

  it('keep the SQL text free of rule strings for any generated rule', () => {
    fc.assert(
      fc.property(rules([7, 8]), (rule) => {
        const text = compiled(rule).sql;
        for (const s of stringsOf(rule)) {
          // short strings like "lv" may occur in SQL keywords by chance; every rule string here is
          // either a vocabulary word the SQL never spells out or a value with punctuation
          if (s.length >= 4) expect(text).not.toContain(s);
        }
      }),
      { numRuns: 300 },
    );
  });
});
