import type { JsonValue } from '../db/schema.js';
import { type Rule, type RuleClock, shiftDate } from './rules.js';

/**
 * In-memory evaluation of a rule, with exactly the semantics of the SQL it compiles to (compile.ts):
 * the property test in test/integration/segmentation holds the two to each other.
 */
export type Tri = boolean | null;

export interface PersonFacts {
  readonly locale: string;
  readonly timeZone: string;
  readonly birthDate: string | null;
  readonly attributes: Readonly<Record<string, JsonValue>>;
  readonly profilingObjected: boolean;
  readonly lists: ReadonlySet<number>;
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** The same test as consentcast_try_date in SQL: an ISO calendar date of year 1 or later. */
export function isoDateOrNull(value: JsonValue | undefined): string | null {
  if (typeof value !== 'string' || !ISO_DATE.test(value) || value.startsWith('0000')) return null;
  const d = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === value ? value : null;
}

function sameScalar(a: JsonValue | undefined, b: JsonValue): boolean {
  return (
    (typeof a === 'string' || typeof a === 'number' || typeof a === 'boolean') &&
    typeof a === typeof b &&
    a === b
  );
}

function and(values: readonly Tri[]): Tri {
  if (values.includes(false)) return false;
  return values.includes(null) ? null : true;
}

function or(values: readonly Tri[]): Tri {
  if (values.includes(true)) return true;
  return values.includes(null) ? null : false;
}

export function evaluateRule(rule: Rule, person: PersonFacts, clock: RuleClock): Tri {
  const profiling = (value: () => boolean): Tri => (person.profilingObjected ? null : value());
  if ('all' in rule) return and(rule.all.map((r) => evaluateRule(r, person, clock)));
  if ('any' in rule) return or(rule.any.map((r) => evaluateRule(r, person, clock)));
  if ('not' in rule) {
    const v = evaluateRule(rule.not, person, clock);
    return v === null ? null : !v;
  }
  if ('attr' in rule) {
    const v = person.attributes[rule.attr];
    return profiling(() => {
      switch (rule.op) {
        case 'eq':
          return sameScalar(v, rule.value);
        case 'ne':
          return !sameScalar(v, rule.value);
        case 'in':
          return rule.value.some((x) => sameScalar(v, x));
        case 'exists':
          return v !== undefined && v !== null;
        case 'gt':
          return typeof v === 'number' && v > rule.value;
        case 'gte':
          return typeof v === 'number' && v >= rule.value;
        case 'lt':
          return typeof v === 'number' && v < rule.value;
        case 'lte':
          return typeof v === 'number' && v <= rule.value;
      }
      return false;
    });
  }
  if ('interest' in rule) {
    const interests = person.attributes.interests;
    return profiling(() => Array.isArray(interests) && interests.includes(rule.interest));
  }
  if ('activity' in rule) {
    const date = isoDateOrNull(person.attributes[rule.activity]);
    return profiling(() => {
      if (date === null) return false;
      const older = rule.olderThanDays === undefined || date < shiftDate(clock.today, rule.olderThanDays);
      const within = rule.withinDays === undefined || date >= shiftDate(clock.today, rule.withinDays);
      return older && within;
    });
  }
  if ('age' in rule) {
    const born = person.birthDate;
    if (born === null) return false;
    const oldEnough = rule.age.gte === undefined || born <= shiftDate(clock.today, 0, rule.age.gte);
    const youngEnough = rule.age.lte === undefined || born > shiftDate(clock.today, 0, rule.age.lte + 1);
    return oldEnough && youngEnough;
  }
  if ('profile' in rule) {
    return rule.in.includes(rule.profile === 'locale' ? person.locale : person.timeZone);
  }
  return person.lists.has(rule.inList);
}
