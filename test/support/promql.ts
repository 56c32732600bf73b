/**
 * The metric names a PromQL expression reads, for checking dashboards and rules against what
 * `/metrics` exposes. A reader of names, not a parser (promtool checks the syntax): strings, label
 * matchers, ranges, grouping clauses and Grafana variables are blanked, numbers and durations are
 * skipped, and an identifier followed by `(` is a function or an aggregation.
 */

const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan']);
const TOKEN = /(\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[a-zA-Z]*)|([a-zA-Z_:][a-zA-Z0-9_:]*)/g;

export function metricNamesIn(expr: string): string[] {
  const blanked = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    .replace(/\$\{[^}]*\}|\$[a-zA-Z_]\w*/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const match of blanked.matchAll(TOKEN)) {
    const name = match[2];
    if (name === undefined || KEYWORDS.has(name.toLowerCase())) continue;
    const after = blanked.slice((match.index ?? 0) + match[0].length).trimStart();
    if (after.startsWith('(')) continue;
    names.add(name);
  }
  return [...names].sort();
}

/** Every sample name a scrape can show: each family's name, with `_bucket`/`_sum`/`_count` for histograms. */
export function exposedNames(families: readonly { name: string; type: string }[]): Set<string> {
  const names = new Set<string>();
  for (const f of families) {
    names.add(f.name);
    if (f.type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(`${f.name}${s}`);
    if (f.type === 'summary') for (const s of ['_sum', '_count']) names.add(`${f.name}${s}`);
  }
  return names;
}
