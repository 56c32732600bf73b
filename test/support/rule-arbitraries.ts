import fc from 'fast-check';
import type { JsonValue } from '../../src/db/schema.js';
import type { Rule, Scalar } from '../../src/segmentation/rules.js';

/** Small value pools, so that random rules and random people actually meet. */
export const ATTRS = ['score', 'tier', 'spend', 'missing_attr'] as const;
export const INTERESTS = ['travel', 'cars', 'food'] as const;
export const LOCALES = ['lv', 'en', 'ru'] as const;
export const ZONES = ['Europe/Riga', 'Europe/London', 'Asia/Tokyo'] as const;
const HOSTILE = "x'); DROP TABLE recipients; --";

export const scalar: fc.Arbitrary<Scalar> = fc.oneof(
  fc.integer({ min: -2, max: 5 }),
  fc.constantFrom('gold', 'silver', '3', HOSTILE),
  fc.boolean(),
  fc.constantFrom(2.5, 0),
);

export function dateAround(todayMs: number): fc.Arbitrary<string> {
  return fc
    .integer({ min: -90, max: 10 })
    .map((d) => new Date(todayMs + d * 86_400_000).toISOString().slice(0, 10));
}

export function attributeValues(todayMs: number): fc.Arbitrary<Record<string, JsonValue>> {
  const record: fc.Arbitrary<Record<string, unknown>> = fc.record(
    {
      score: fc.oneof(fc.integer({ min: -2, max: 5 }), fc.constant('3'), fc.constant(null), fc.constant(2.5)),
      tier: fc.constantFrom('gold', 'silver', 1, true, HOSTILE),
      spend: fc.oneof(fc.integer({ min: 0, max: 5 }), fc.constant(false)),
      interests: fc.oneof(fc.subarray([...INTERESTS]), fc.constant('travel'), fc.constant([1, 'cars'])),
      last_purchase_at: fc.oneof(
        dateAround(todayMs),
        fc.constantFrom('2024-02-30', 'yesterday', '0000-01-01'),
        fc.constant(20240101),
      ),
    },
    { requiredKeys: [] },
  );
  return record as fc.Arbitrary<Record<string, JsonValue>>;
}

export function rules(listIds: readonly number[]): fc.Arbitrary<Rule> {
  const leaf: fc.Arbitrary<Rule> = fc.oneof(
    fc.record({
      attr: fc.constantFrom(...ATTRS),
      op: fc.constantFrom('eq' as const, 'ne' as const),
      value: scalar,
    }),
    fc.record({
      attr: fc.constantFrom(...ATTRS),
      op: fc.constant('in' as const),
      value: fc.array(scalar, { minLength: 1, maxLength: 3 }),
    }),
    fc.record({
      attr: fc.constantFrom(...ATTRS),
      op: fc.constantFrom('gt' as const, 'gte' as const, 'lt' as const, 'lte' as const),
      value: fc.integer({ min: -1, max: 4 }),
    }),
    fc.record({ attr: fc.constantFrom(...ATTRS, 'interests'), op: fc.constant('exists' as const) }),
    fc.record({ interest: fc.constantFrom(...INTERESTS, HOSTILE) }),
    fc.record(
      {
        activity: fc.constantFrom('last_purchase_at', 'missing_attr', 'tier'),
        olderThanDays: fc.integer({ min: 0, max: 60 }),
        withinDays: fc.integer({ min: 0, max: 60 }),
      },
      { requiredKeys: ['activity', 'olderThanDays'] },
    ),
    fc
      .record(
        { gte: fc.integer({ min: 10, max: 70 }), lte: fc.integer({ min: 10, max: 90 }) },
        { requiredKeys: [] },
      )
      .filter((a) => Object.keys(a).length > 0)
      .map((age) => ({ age })),
    fc.record({ profile: fc.constant('locale' as const), in: fc.subarray([...LOCALES], { minLength: 1 }) }),
    fc.record({ profile: fc.constant('time_zone' as const), in: fc.subarray([...ZONES], { minLength: 1 }) }),
    ...(listIds.length > 0 ? [fc.constantFrom(...listIds).map((inList) => ({ inList }))] : []),
  );
  const { rule } = fc.letrec<{ rule: Rule }>((tie) => ({
    rule: fc.oneof(
      { depthSize: 'small', maxDepth: 4, withCrossShrink: true },
      leaf,
      fc.array(tie('rule'), { minLength: 0, maxLength: 3 }).map((all) => ({ all })),
      fc.array(tie('rule'), { minLength: 1, maxLength: 3 }).map((any) => ({ any })),
      tie('rule').map((not) => ({ not })),
    ),
  }));
  return rule;
}
