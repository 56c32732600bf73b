/**
 * A strict reader of the Prometheus text exposition format 0.0.4, for tests (prom-client writes it
 * but cannot read it). Every line must be a HELP, a TYPE, or a well-formed sample of a family whose
 * TYPE came before it; a family is declared once; label values are unescaped; histogram samples
 * (`_bucket`, `_sum`, `_count`) and summary samples belong to their family. Anything else throws.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  /** The sample's own name, e.g. `x_bucket` of histogram `x`. */
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface MetricFamily {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  readonly samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const SPECIAL: Record<string, number> = {
  '+inf': Infinity,
  inf: Infinity,
  '-inf': -Infinity,
  nan: Number.NaN,
};
const SUFFIXES: Record<MetricType, readonly string[]> = {
  counter: [''],
  gauge: [''],
  untyped: [''],
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['', '_sum', '_count'],
};

function parseValue(text: string, where: string): number {
  if (NUMBER.test(text)) return Number(text);
  const special = SPECIAL[text.toLowerCase()];
  if (special === undefined) throw new Error(`${where}: "${text}" is not a value`);
  return special;
}

/** Reads `{a="x",b="y"}` from `line` at `start`; returns the labels and the index after the brace. */
function parseLabels(line: string, start: number, where: string): [Record<string, string>, number] {
  const labels: Record<string, string> = {};
  let i = start + 1;
  for (;;) {
    if (line[i] === '}') return [labels, i + 1];
    const eq = line.indexOf('=', i);
    const name = eq < 0 ? '' : line.slice(i, eq);
    if (!LABEL_NAME.test(name) || line[eq + 1] !== '"') throw new Error(`${where}: bad label at ${i}`);
    if (name in labels) throw new Error(`${where}: label ${name} twice`);
    let value = '';
    let j = eq + 2;
    for (; j < line.length && line[j] !== '"'; j++) {
      if (line[j] === '\\') {
        const next = line[j + 1];
        if (next === 'n') value += '\n';
        else if (next === '\\' || next === '"') value += next;
        else throw new Error(`${where}: bad escape in label ${name}`);
        j++;
      } else value += line[j];
    }
    if (j >= line.length) throw new Error(`${where}: unterminated label ${name}`);
    labels[name] = value;
    i = j + 1;
    if (line[i] === ',') i++;
    else if (line[i] !== '}') throw new Error(`${where}: expected , or } at ${i}`);
  }
}

export function parsePrometheus(text: string): MetricFamily[] {
  const families = new Map<string, MetricFamily>();
  const helps = new Map<string, string>();
  for (const [index, line] of text.split('\n').entries()) {
    const where = `line ${index + 1}`;
    if (line === '') continue;
    if (line.startsWith('#')) {
      const [, keyword, name, ...rest] = line.split(' ');
      if (keyword === 'HELP' && name && NAME.test(name)) {
        helps.set(name, rest.join(' '));
      } else if (keyword === 'TYPE' && name && NAME.test(name) && rest.length === 1) {
        const type = rest[0] as MetricType;
        if (!(type in SUFFIXES)) throw new Error(`${where}: unknown type ${rest[0]}`);
        if (families.has(name)) throw new Error(`${where}: a second TYPE for ${name}`);
        families.set(name, { name, type, help: helps.get(name) ?? '', samples: [] });
      } else if (keyword === 'HELP' || keyword === 'TYPE') {
        throw new Error(`${where}: malformed ${keyword} line`);
      }
      continue;
    }
    const nameEnd = line.search(/[{ ]/);
    const name = nameEnd < 0 ? line : line.slice(0, nameEnd);
    if (!NAME.test(name)) throw new Error(`${where}: bad metric name in "${line}"`);
    let labels: Record<string, string> = {};
    let rest = nameEnd;
    if (line[nameEnd] === '{') [labels, rest] = parseLabels(line, nameEnd, where);
    const fields = line.slice(rest).split(' ');
    if (fields[0] !== '' || fields.length < 2 || fields.length > 3)
      throw new Error(`${where}: bad sample "${line}"`);
    const value = parseValue(fields[1] ?? '', where);
    if (fields[2] !== undefined && !/^-?\d+$/.test(fields[2])) throw new Error(`${where}: bad timestamp`);
    const family = [...families.values()].find((f) =>
      SUFFIXES[f.type].some((suffix) => `${f.name}${suffix}` === name),
    );
    if (family === undefined) throw new Error(`${where}: ${name} has no TYPE line before it`);
    if (family.type === 'histogram' && name.endsWith('_bucket') && labels.le === undefined) {
      throw new Error(`${where}: a bucket without le`);
    }
    family.samples.push({ name, labels, value });
  }
  return [...families.values()];
}

function matches(sample: Sample, labels: Record<string, string>): boolean {
  return Object.entries(labels).every(([k, v]) => sample.labels[k] === v);
}

/** The value of the one sample named `name` with exactly these labels, or undefined. */
export function sampleValue(
  families: readonly MetricFamily[],
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const wanted = Object.keys(labels).length;
  return families
    .flatMap((f) => f.samples)
    .find((s) => s.name === name && Object.keys(s.labels).length === wanted && matches(s, labels))?.value;
}

/** The sum of the samples named `name` whose labels include these. */
export function sampleSum(
  families: readonly MetricFamily[],
  name: string,
  labels: Record<string, string> = {},
): number {
  return families
    .flatMap((f) => f.samples)
    .filter((s) => s.name === name && matches(s, labels))
    .reduce((sum, s) => sum + s.value, 0);
}
