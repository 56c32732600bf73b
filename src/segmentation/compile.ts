import { type RawBuilder, sql } from 'kysely';
import { type Rule, type RuleClock, shiftDate } from './rules.js';

/**
 * Compiles a validated rule to a parameterised SQL boolean over the recipients row `alias`. Every
 * name and value is a bound parameter; the SQL text depends only on the rule's shape. Predicates on
 * profiling data are NULL (unknown) for people who objected to profiling (N9); everything else is
 * never NULL, so `(rule) IS TRUE` is the selection.
 */
export function compileRule(rule: Rule, alias: string, clock: RuleClock): RawBuilder<boolean | null> {
  const col = (name: string) => sql.ref(`${alias}.${name}`);
  const attrs = col('attributes');
  const profiling = (predicate: RawBuilder<boolean>) =>
    sql<
      boolean | null
    >`(CASE WHEN ${col('profiling_objected_at')} IS NOT NULL THEN NULL ELSE COALESCE(${predicate}, false) END)`;
  const value = (attr: string) => sql`(${attrs} -> ${attr}::text)`;

  if ('all' in rule) {
    if (rule.all.length === 0) return sql<boolean>`true`;
    return sql<boolean | null>`(${sql.join(
      rule.all.map((r) => compileRule(r, alias, clock)),
      sql` AND `,
    )})`;
  }
  if ('any' in rule) {
    return sql<boolean | null>`(${sql.join(
      rule.any.map((r) => compileRule(r, alias, clock)),
      sql` OR `,
    )})`;
  }
  if ('not' in rule) return sql<boolean | null>`(NOT ${compileRule(rule.not, alias, clock)})`;
  if ('attr' in rule) {
    const v = value(rule.attr);
    switch (rule.op) {
      case 'eq':
        return profiling(sql<boolean>`${v} = ${JSON.stringify(rule.value)}::jsonb`);
      case 'ne':
        return profiling(sql<boolean>`${v} IS DISTINCT FROM ${JSON.stringify(rule.value)}::jsonb`);
      case 'in':
        return profiling(
          sql<boolean>`(jsonb_typeof(${v}) IN ('string', 'number', 'boolean') AND ${v} = ANY (${rule.value.map((x) => JSON.stringify(x))}::text[]::jsonb[]))`,
        );
      case 'exists':
        return profiling(sql<boolean>`COALESCE(jsonb_typeof(${v}), 'null') <> 'null'`);
      default: {
        const op = { gt: sql`>`, gte: sql`>=`, lt: sql`<`, lte: sql`<=` }[rule.op];
        return profiling(
          sql<boolean>`(CASE WHEN jsonb_typeof(${v}) = 'number' THEN (${attrs} ->> ${rule.attr}::text)::numeric ${op} ${rule.value}::numeric ELSE false END)`,
        );
      }
    }
  }
  if ('interest' in rule) {
    const interests = value('interests');
    return profiling(
      sql<boolean>`(CASE WHEN jsonb_typeof(${interests}) = 'array' THEN ${interests} @> jsonb_build_array(${rule.interest}::text) ELSE false END)`,
    );
  }
  if ('activity' in rule) {
    const v = value(rule.activity);
    const date = sql`consentcast_try_date(CASE WHEN jsonb_typeof(${v}) = 'string' THEN ${attrs} ->> ${rule.activity}::text END)`;
    const parts: RawBuilder<boolean>[] = [];
    if (rule.olderThanDays !== undefined)
      parts.push(sql<boolean>`${date} < ${shiftDate(clock.today, rule.olderThanDays)}::date`);
    if (rule.withinDays !== undefined)
      parts.push(sql<boolean>`${date} >= ${shiftDate(clock.today, rule.withinDays)}::date`);
    return profiling(sql<boolean>`(${sql.join(parts, sql` AND `)})`);
  }
  if ('age' in rule) {
    const parts: RawBuilder<boolean>[] = [];
    if (rule.age.gte !== undefined)
      parts.push(sql<boolean>`${col('birth_date')} <= ${shiftDate(clock.today, 0, rule.age.gte)}::date`);
    if (rule.age.lte !== undefined) {
      parts.push(sql<boolean>`${col('birth_date')} > ${shiftDate(clock.today, 0, rule.age.lte + 1)}::date`);
    }
    return sql<boolean>`COALESCE((${sql.join(parts, sql` AND `)}), false)`;
  }
  if ('profile' in rule) {
    return sql<boolean>`(${col(rule.profile)} = ANY (${[...rule.in]}::text[]))`;
  }
  return sql<boolean>`EXISTS (SELECT 1 FROM audience_list_members alm WHERE alm.list_id = ${rule.inList}::bigint AND alm.recipient_id = ${col('id')})`;
}
