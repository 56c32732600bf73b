import { appendFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Measurement } from './protocol.js';
import { median, roundTo } from './stats.js';
import { type Column, formatFixed, formatInteger, formatTable } from './table.js';
import type { AnyBenchmark, Role, Slot } from './types.js';

export const RESULTS_DIR = fileURLToPath(new URL('../results', import.meta.url));

export interface SlotMeasurement {
  readonly slot: Slot;
  readonly measurement: Measurement;
  /** 1-minute load average when this child started: tells a disturbed round from a slow variant. */
  readonly loadAvg1: number;
}

export interface RoundResult extends Measurement {
  readonly round: number;
  readonly loadAvg1: number;
  /** Subjects only: this round's ops/s over the baseline's ops/s in the same round. */
  readonly ratio?: number;
}

export interface VariantResult {
  readonly variant: string;
  readonly role: Role;
  readonly rounds: readonly RoundResult[];
  /** Medians over rounds; peak RSS is the largest peak of any round. */
  readonly opsPerSec: number;
  readonly seconds: number;
  readonly latencyMs: { readonly p50: number; readonly p95: number; readonly p99: number } | null;
  /** Medians over the rounds, where the variant measured it (channel workers). */
  readonly claimToHandoffMs?: { readonly p50: number; readonly p99: number; readonly max: number };
  /**
   * Median child CPU time per operation, in microseconds: what our side of the work costs. It barely
   * moves with the machine's load, unlike ops/s, but it says nothing about the server's share.
   */
  readonly cpuUsPerOp: number;
  /**
   * Median CPU per operation of PostgreSQL, Redis and the whole machine (all processes, all cores),
   * in microseconds; null when not measured. On a machine of few cores the sum is what limits.
   */
  readonly serverUsPerOp: {
    readonly postgres: number;
    readonly redis: number;
    readonly machine: number;
  } | null;
  readonly rssPeakMb: number;
}

export interface Machine {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly node: string;
  readonly date: string;
  /** 1-minute load average when the run started: a busy machine explains a slow run. */
  readonly loadAvg1: number;
}

export interface Report {
  readonly bench: string;
  readonly size: number;
  readonly repeat: number;
  readonly runId: string;
  readonly results: readonly VariantResult[];
  /** Per subject: the median over rounds of (subject ops/s ÷ baseline ops/s in that round). */
  readonly ratios: Readonly<Record<string, number>>;
  readonly machine: Machine;
}

export function loadAverage1(): number {
  return roundTo(os.loadavg()[0] ?? 0, 2);
}

export function describeMachine(date: Date): Machine {
  return {
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    node: process.version,
    date: date.toISOString(),
    loadAvg1: loadAverage1(),
  };
}

function ratiosOf(rounds: readonly RoundResult[]): number[] {
  return rounds.flatMap((r) => (r.ratio === undefined ? [] : [r.ratio]));
}

function medianOrNull(values: readonly (number | undefined)[]): number | null {
  const present = values.filter((v): v is number => v !== undefined);
  return present.length === 0 ? null : median(present);
}

function serverUsPerOp(rounds: readonly RoundResult[]): VariantResult['serverUsPerOp'] {
  const measured = rounds.flatMap((r) => (r.machineCpu ? [{ cpu: r.machineCpu, ops: r.operations }] : []));
  if (measured.length === 0) return null;
  const perOp = (pick: (c: NonNullable<RoundResult['machineCpu']>) => number) =>
    roundTo(median(measured.map((m) => (pick(m.cpu) * 1e6) / m.ops)), 1);
  return { postgres: perOp((c) => c.postgres), redis: perOp((c) => c.redis), machine: perOp((c) => c.total) };
}

function handoffSummary(rounds: readonly RoundResult[]): Pick<VariantResult, 'claimToHandoffMs'> {
  const measured = rounds.flatMap((r) => (r.claimToHandoffMs === undefined ? [] : [r.claimToHandoffMs]));
  if (measured.length === 0) return {};
  return {
    claimToHandoffMs: {
      p50: median(measured.map((h) => h.p50)),
      p99: median(measured.map((h) => h.p99)),
      max: median(measured.map((h) => h.max)),
    },
  };
}

function summariseVariant(name: string, role: Role, rounds: readonly RoundResult[]): VariantResult {
  const p50 = medianOrNull(rounds.map((r) => r.latencyMs?.p50));
  const p95 = medianOrNull(rounds.map((r) => r.latencyMs?.p95));
  const p99 = medianOrNull(rounds.map((r) => r.latencyMs?.p99));
  return {
    variant: name,
    role,
    rounds,
    opsPerSec: median(rounds.map((r) => r.opsPerSec)),
    seconds: median(rounds.map((r) => r.seconds)),
    latencyMs: p50 === null || p95 === null || p99 === null ? null : { p50, p95, p99 },
    ...handoffSummary(rounds),
    cpuUsPerOp: roundTo(median(rounds.map((r) => (r.cpuSeconds * 1e6) / r.operations)), 2),
    serverUsPerOp: serverUsPerOp(rounds),
    rssPeakMb: Math.max(...rounds.map((r) => r.rssPeakMb)),
  };
}

/**
 * Ratios pair each subject round with the baseline round run next to it: the two shared the
 * machine's load of that moment, so the ratio cancels much of the noise that raw ops/s carries.
 */
export function buildReport(
  benchmark: AnyBenchmark,
  meta: { size: number; repeat: number; runId: string; machine: Machine },
  measured: readonly SlotMeasurement[],
): Report {
  const roundsOf = (variant: string): RoundResult[] =>
    measured
      .filter((m) => m.slot.variant === variant)
      .map((m) => ({ round: m.slot.round, loadAvg1: m.loadAvg1, ...m.measurement }));
  const baseline = benchmark.variants.find((v) => v.role === 'baseline');
  const baselineRounds = new Map(
    (baseline === undefined ? [] : roundsOf(baseline.name)).map((r) => [r.round, r.opsPerSec]),
  );

  const results: VariantResult[] = [];
  const ratios: Record<string, number> = {};
  for (const variant of benchmark.variants) {
    const rounds = roundsOf(variant.name).map((r): RoundResult => {
      const base = variant.role === 'subject' ? baselineRounds.get(r.round) : undefined;
      return base === undefined ? r : { ...r, ratio: roundTo(r.opsPerSec / base, 4) };
    });
    if (rounds.length === 0) continue;
    const paired = ratiosOf(rounds);
    if (paired.length > 0) ratios[variant.name] = roundTo(median(paired), 4);
    results.push(summariseVariant(variant.name, variant.role, rounds));
  }
  return {
    bench: benchmark.name,
    size: meta.size,
    repeat: meta.repeat,
    runId: meta.runId,
    results,
    ratios,
    machine: meta.machine,
  };
}

const RUN_COLUMNS: readonly Column[] = [
  { header: 'variant', align: 'left' },
  { header: 'role', align: 'left' },
  { header: 'round', align: 'right' },
  { header: 'load', align: 'right' },
  { header: 'ops', align: 'right' },
  { header: 'seconds', align: 'right' },
  { header: 'ops/s', align: 'right' },
  { header: 'p50 ms', align: 'right' },
  { header: 'p95 ms', align: 'right' },
  { header: 'p99 ms', align: 'right' },
  { header: 'CPU %', align: 'right' },
  { header: 'RSS start MB', align: 'right' },
  { header: 'RSS peak MB', align: 'right' },
  { header: 'ratio', align: 'right' },
];

const SUMMARY_COLUMNS: readonly Column[] = [
  { header: 'variant', align: 'left' },
  { header: 'role', align: 'left' },
  { header: 'rounds', align: 'right' },
  { header: 'ops/s (median)', align: 'right' },
  { header: 'ops/s (min-max)', align: 'right' },
  { header: 'p50 ms', align: 'right' },
  { header: 'p95 ms', align: 'right' },
  { header: 'p99 ms', align: 'right' },
  { header: 'CPU µs/op', align: 'right' },
  { header: 'PG µs/op', align: 'right' },
  { header: 'Redis µs/op', align: 'right' },
  { header: 'machine µs/op', align: 'right' },
  { header: 'RSS peak MB', align: 'right' },
  { header: 'ratio', align: 'right' },
  { header: 'ratio (min-max)', align: 'right' },
];

function range(values: readonly number[], format: (n: number) => string): string {
  return values.length === 0 ? '-' : `${format(Math.min(...values))}-${format(Math.max(...values))}`;
}

export function renderReport(report: Report): string {
  const ratio2 = (n: number) => n.toFixed(2);
  const runRows = report.results
    .flatMap((v) =>
      v.rounds.map((r) => ({
        order: r.round * 1000 + report.results.indexOf(v),
        cells: [
          v.variant,
          v.role,
          String(r.round + 1),
          formatFixed(r.loadAvg1, 1),
          formatInteger(r.operations),
          formatFixed(r.seconds, 2),
          formatInteger(r.opsPerSec),
          formatFixed(r.latencyMs?.p50, 2),
          formatFixed(r.latencyMs?.p95, 2),
          formatFixed(r.latencyMs?.p99, 2),
          formatFixed((100 * r.cpuSeconds) / r.seconds, 0),
          formatFixed(r.rssStartMb, 1),
          formatFixed(r.rssPeakMb, 1),
          v.role === 'baseline' ? '1.00' : formatFixed(r.ratio, 2),
        ],
      })),
    )
    .sort((a, b) => a.order - b.order)
    .map((r) => r.cells);
  const summaryRows = report.results.map((v) => [
    v.variant,
    v.role,
    String(v.rounds.length),
    formatInteger(v.opsPerSec),
    range(
      v.rounds.map((r) => r.opsPerSec),
      formatInteger,
    ),
    formatFixed(v.latencyMs?.p50, 2),
    formatFixed(v.latencyMs?.p95, 2),
    formatFixed(v.latencyMs?.p99, 2),
    formatFixed(v.cpuUsPerOp, 1),
    formatFixed(v.serverUsPerOp?.postgres, 0),
    formatFixed(v.serverUsPerOp?.redis, 0),
    formatFixed(v.serverUsPerOp?.machine, 0),
    formatFixed(v.rssPeakMb, 1),
    v.role === 'baseline' ? '1.00' : formatFixed(report.ratios[v.variant], 2),
    v.role === 'baseline' ? '' : range(ratiosOf(v.rounds), ratio2),
  ]);
  const m = report.machine;
  return [
    `${report.bench}: size ${formatInteger(report.size)}, repeat ${report.repeat}, run ${report.runId}`,
    `${m.cpus} CPUs (${m.cpuModel}), Node ${m.node}, load ${m.loadAvg1} at start, ${m.date}`,
    '',
    formatTable(RUN_COLUMNS, runRows),
    '',
    'summary (medians over rounds; RSS peak is the largest; ratio = subject ops/s / baseline ops/s, paired by round;',
    " CPU µs/op is the variant's process, PG and Redis the servers, machine every process on every core)",
    formatTable(SUMMARY_COLUMNS, summaryRows),
  ].join('\n');
}

/** Appends the report as one JSON line to bench/results/<name>.jsonl (git-ignored); returns the path. */
export async function appendResult(report: Report, line: string): Promise<string> {
  await mkdir(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `${report.bench}.jsonl`);
  await appendFile(file, `${line}\n`, 'utf8');
  return file;
}
