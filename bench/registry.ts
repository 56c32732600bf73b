import type { AnyBenchmark } from './lib/types.js';

/**
 * Every benchmark, by name. Modules load lazily so that a child process imports only the benchmark
 * it measures. To add one: write bench/benchmarks/<name>.ts exporting `benchmark`, add a line here.
 */
const BENCHMARKS: Readonly<Record<string, () => Promise<AnyBenchmark>>> = {
  'recipients-insert': async () => (await import('./benchmarks/recipients-insert.js')).benchmark,
  'campaign-fanout': async () => (await import('./benchmarks/campaign-fanout.js')).benchmark,
  'consent-api': async () => (await import('./benchmarks/consent-api.js')).benchmark,
  'import-people': async () => (await import('./benchmarks/import-people.js')).benchmark,
  'import-people-schema': async () => (await import('./benchmarks/import-people.js')).schemaBenchmark,
  'delivery-email': async () => (await import('./benchmarks/delivery.js')).channelBenchmark('email'),
  'delivery-sms': async () => (await import('./benchmarks/delivery.js')).channelBenchmark('sms'),
  'delivery-push': async () => (await import('./benchmarks/delivery.js')).channelBenchmark('push'),
  'delivery-pipeline': async () => (await import('./benchmarks/delivery.js')).pipelineBenchmark,
};

export function benchmarkNames(): string[] {
  return Object.keys(BENCHMARKS).sort();
}

export class UnknownBenchmarkError extends Error {
  override readonly name = 'UnknownBenchmarkError';
}

/** Rules the report depends on: one baseline to divide by, subjects to compare, unique names. */
function check(name: string, benchmark: AnyBenchmark): AnyBenchmark {
  const problems: string[] = [];
  if (benchmark.name !== name) problems.push(`its name is ${JSON.stringify(benchmark.name)}`);
  if (!Number.isSafeInteger(benchmark.defaultSize) || benchmark.defaultSize < 1) {
    problems.push('defaultSize is not a positive integer');
  }
  const roles = benchmark.variants.map((v) => v.role);
  if (roles.filter((r) => r === 'baseline').length !== 1)
    problems.push('it needs exactly one baseline variant');
  if (!roles.includes('subject')) problems.push('it has no subject variant');
  const names = benchmark.variants.map((v) => v.name);
  if (new Set(names).size !== names.length) problems.push('variant names repeat');
  if (names.some((n) => !/^[a-z0-9][a-z0-9-]*$/.test(n))) problems.push('variant names must be kebab-case');
  if (problems.length > 0) throw new Error(`benchmark ${name} is malformed: ${problems.join('; ')}`);
  return benchmark;
}

export async function loadBenchmark(name: string): Promise<AnyBenchmark> {
  const load = Object.hasOwn(BENCHMARKS, name) ? BENCHMARKS[name] : undefined;
  if (load === undefined) {
    throw new UnknownBenchmarkError(
      `unknown benchmark ${JSON.stringify(name)} (known: ${benchmarkNames().join(', ')})`,
    );
  }
  return check(name, await load());
}
