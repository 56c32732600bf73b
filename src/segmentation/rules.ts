import type { FieldProblem } from '../errors/validation-error.js';

/**
 * The audience rule language (docs/audience-rules.md). A rule is JSON; it is validated here and then
 * either compiled to parameterised SQL (compile.ts) or evaluated in memory (evaluate.ts). Names come
 * from a closed vocabulary and every value becomes a bound parameter: no part of a rule is SQL text.
 *
 * Logic is three-valued (true / false / unknown). Predicates on profiling data — attributes,
 * interests, activity — are *unknown* for a person who objected to profiling (N9), so such a person
 * is selected only when the rule holds whatever their profile says.
 */
export type Scalar = string | number | boolean;

export type Rule =
  | { readonly all: readonly Rule[] }
  | { readonly any: readonly Rule[] }
  | { readonly not: Rule }
  | { readonly attr: string; readonly op: 'eq' | 'ne'; readonly value: Scalar }
  | { readonly attr: string; readonly op: 'in'; readonly value: readonly Scalar[] }
  | { readonly attr: string; readonly op: 'gt' | 'gte' | 'lt' | 'lte'; readonly value: number }
  | { readonly attr: string; readonly op: 'exists' }
  | { readonly interest: string }
  | { readonly activity: string; readonly olderThanDays?: number; readonly withinDays?: number }
  | { readonly age: { readonly gte?: number; readonly lte?: number } }
  | { readonly profile: 'locale' | 'time_zone'; readonly in: readonly string[] }
  | { readonly inList: number };

export const MAX_DEPTH = 6;
export const MAX_NODES = 200;
export const ATTRIBUTE_NAME = /^[a-z][a-z0-9_]{0,63}$/;
const ORDER_OPS = ['gt', 'gte', 'lt', 'lte'] as const;

type Check = { ok: true; rule: Rule } | { ok: false; problems: FieldProblem[] };

function isScalar(v: unknown): v is Scalar {
  return typeof v === 'string'
    ? v.length <= 500
    : typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const KNOWN_KEYS: readonly (readonly string[])[] = [
  ['all'],
  ['any'],
  ['not'],
  ['attr', 'op', 'value'],
  ['attr', 'op'],
  ['interest'],
  ['activity', 'olderThanDays', 'withinDays'],
  ['age'],
  ['profile', 'in'],
  ['inList'],
];

/** Validates untrusted JSON into a Rule, naming every problem by its path (e.g. `audience/all/2/op`). */
export function parseRule(input: unknown, path = 'audience'): Check {
  const problems: FieldProblem[] = [];
  let nodes = 0;

  const walk = (node: unknown, at: string, depth: number): Rule | undefined => {
    nodes += 1;
    const bad = (field: string, message: string): undefined => {
      problems.push({ field: field === '' ? at : `${at}/${field}`, message });
      return undefined;
    };
    if (nodes > MAX_NODES) return bad('', `a rule may have at most ${MAX_NODES} parts`);
    if (depth > MAX_DEPTH) return bad('', `rules nest at most ${MAX_DEPTH} deep`);
    if (!isRecord(node)) return bad('', 'must be an object');
    const keys = Object.keys(node);
    const kind = KNOWN_KEYS.find((k) => k[0] !== undefined && keys.includes(k[0]));
    if (!kind)
      return bad(
        '',
        'is not a rule: expected all, any, not, attr, interest, activity, age, profile or inList',
      );
    for (const k of keys) if (!kind.includes(k)) bad(k, 'is not a known field of this rule');

    if ('all' in node || 'any' in node) {
      const key = 'all' in node ? 'all' : 'any';
      const list = node[key];
      if (!Array.isArray(list)) return bad(key, 'must be a list of rules');
      if (key === 'any' && list.length === 0) return bad(key, 'must not be empty');
      const children = list.map((c, i) => walk(c, `${at}/${key}/${i}`, depth + 1));
      if (children.some((c) => c === undefined)) return undefined;
      return key === 'all' ? { all: children as Rule[] } : { any: children as Rule[] };
    }
    if ('not' in node) {
      const child = walk(node.not, `${at}/not`, depth + 1);
      return child && { not: child };
    }
    if ('attr' in node) {
      const { attr, op, value } = node;
      if (typeof attr !== 'string' || !ATTRIBUTE_NAME.test(attr)) {
        return bad('attr', 'must be an attribute name: lower_snake_case, at most 64 characters');
      }
      if (op === 'exists') return value === undefined ? { attr, op } : bad('value', 'exists takes no value');
      if (op === 'eq' || op === 'ne')
        return isScalar(value) ? { attr, op, value } : bad('value', 'must be a string, number or boolean');
      if (op === 'in') {
        if (!Array.isArray(value) || value.length === 0 || value.length > 100 || !value.every(isScalar)) {
          return bad('value', 'must be a list of 1-100 strings, numbers or booleans');
        }
        return { attr, op, value };
      }
      if ((ORDER_OPS as readonly unknown[]).includes(op)) {
        if (typeof value !== 'number' || !Number.isFinite(value))
          return bad('value', `${String(op)} compares numbers`);
        return { attr, op: op as (typeof ORDER_OPS)[number], value };
      }
      return bad('op', 'must be one of eq, ne, in, gt, gte, lt, lte, exists');
    }
    if ('interest' in node) {
      const v = node.interest;
      return typeof v === 'string' && v.length >= 1 && v.length <= 200
        ? { interest: v }
        : bad('interest', 'must be 1-200 characters');
    }
    if ('activity' in node) {
      const { activity, olderThanDays, withinDays } = node;
      if (typeof activity !== 'string' || !ATTRIBUTE_NAME.test(activity)) {
        return bad('activity', 'must name a date attribute, e.g. last_purchase_at');
      }
      const days = (v: unknown) =>
        v === undefined || (Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 36_600);
      if (!days(olderThanDays)) return bad('olderThanDays', 'must be a whole number of days');
      if (!days(withinDays)) return bad('withinDays', 'must be a whole number of days');
      if (olderThanDays === undefined && withinDays === undefined)
        return bad('', 'needs olderThanDays or withinDays');
      return {
        activity,
        ...(olderThanDays !== undefined ? { olderThanDays: olderThanDays as number } : {}),
        ...(withinDays !== undefined ? { withinDays: withinDays as number } : {}),
      };
    }
    if ('age' in node) {
      const age = node.age;
      if (
        !isRecord(age) ||
        Object.keys(age).some((k) => k !== 'gte' && k !== 'lte') ||
        Object.keys(age).length === 0
      ) {
        return bad('age', 'must be { gte?: years, lte?: years }');
      }
      const ok = (v: unknown) =>
        v === undefined || (Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 130);
      if (!ok(age.gte) || !ok(age.lte)) return bad('age', 'years must be whole numbers 0-130');
      return {
        age: {
          ...(age.gte !== undefined ? { gte: age.gte as number } : {}),
          ...(age.lte !== undefined ? { lte: age.lte as number } : {}),
        },
      };
    }
    if ('profile' in node) {
      const { profile } = node;
      const list = node.in;
      if (profile !== 'locale' && profile !== 'time_zone')
        return bad('profile', 'must be locale or time_zone');
      if (
        !Array.isArray(list) ||
        list.length === 0 ||
        list.length > 100 ||
        !list.every((v) => typeof v === 'string')
      ) {
        return bad('in', 'must be a list of 1-100 strings');
      }
      return { profile, in: list as string[] };
    }
    const id = node.inList;
    return Number.isInteger(id) && (id as number) > 0
      ? { inList: id as number }
      : bad('inList', 'must be an audience list id');
  };

  const rule = walk(input, path, 0);
  return problems.length > 0 || rule === undefined ? { ok: false, problems } : { ok: true, rule };
}

/** The calendar dates a rule compares against, computed once (UTC) so SQL and memory agree. */
export interface RuleClock {
  readonly today: string;
}

export function clockAt(now: Date): RuleClock {
  return { today: now.toISOString().slice(0, 10) };
}

/** `YYYY-MM-DD` minus whole days / years, in UTC. */
export function shiftDate(date: string, days: number, years = 0): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCFullYear(d.getUTCFullYear() - years);
  d.setUTCDate(d.getUTCDate() - days);
  return d.toISOString().slice(0, 10);
}
