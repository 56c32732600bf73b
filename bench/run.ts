/**
 * `npm run bench -- <name> [--size N] [--repeat R]`: runs a benchmark's baseline and subjects, each
 * in a child process of its own, alternating them round after round, and reports ops/s, latency,
 * peak RSS and each subject's ratio to the baseline. See docs/benchmarks.md.
 *
 * stdout: the report table, then as its last line the same report as one JSON object (also appended
 * to bench/results/<name>.jsonl). stderr: progress and errors. Exit 0 done, 1 a benchmark failed,
 * 2 bad usage or the services do not answer, 130 interrupted.
 */

import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { parseCliArgs, USAGE, UsageError } from './lib/cli-args.js';
import {
  appendResult,
  buildReport,
  describeMachine,
  loadAverage1,
  renderReport,
  type SlotMeasurement,
} from './lib/report.js';
import { checkServices, findServices, START_SERVICES_HINT } from './lib/services.js';
import { spawnChild } from './lib/spawn-child.js';
import { formatInteger, formatTable } from './lib/table.js';
import type { AnyBenchmark, BenchContext, JsonValue, Slot } from './lib/types.js';
import { benchmarkNames, loadBenchmark, UnknownBenchmarkError } from './registry.js';

const EXIT = { ok: 0, failure: 1, usage: 2, interrupted: 130 } as const;

class InterruptedError extends Error {
  override readonly name = 'InterruptedError';
}

/** First Ctrl-C: stop the running child, skip the rest, clean up. Second: quit at once. */
class Interrupt {
  interrupted = false;
  current: ChildProcess | undefined;

  listen(): void {
    const handler = (signal: NodeJS.Signals) => {
      if (this.interrupted) process.exit(EXIT.interrupted);
      this.interrupted = true;
      console.error(`bench: ${signal}: stopping and cleaning up (again to quit at once)`);
      this.current?.kill('SIGTERM');
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
  }

  check(): void {
    if (this.interrupted) throw new InterruptedError('interrupted');
  }
}

/** Round after round: the baseline, then each subject, so that slow spells of the machine hit all. */
function schedule(benchmark: AnyBenchmark, repeat: number): Slot[] {
  const order = [...benchmark.variants].sort(
    (a, b) => Number(a.role === 'subject') - Number(b.role === 'subject'),
  );
  const slots: Slot[] = [];
  for (let round = 0; round < repeat; round++) {
    for (const v of order) slots.push({ variant: v.name, role: v.role, round, index: slots.length });
  }
  return slots;
}

/** Runs `cleanup` after `body` whatever happens; a cleanup failure never hides the body's failure. */
async function withCleanup<T>(
  body: () => Promise<T>,
  cleanup: () => Promise<void>,
  what: string,
): Promise<T> {
  let result: T;
  try {
    result = await body();
  } catch (err) {
    await cleanup().catch((cleanupErr: unknown) =>
      console.error(`bench: ${what} failed too: ${String(cleanupErr)}`),
    );
    throw err;
  }
  await cleanup();
  return result;
}

async function measureAll(
  benchmark: AnyBenchmark,
  ctx: BenchContext,
  repeat: number,
  interrupt: Interrupt,
): Promise<SlotMeasurement[]> {
  const slots = schedule(benchmark, repeat);
  const measured: SlotMeasurement[] = [];
  let setup: JsonValue | undefined;
  const body = async () => {
    const started = Date.now();
    setup = await benchmark.setup(ctx);
    console.error(`bench: setup done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    for (const slot of slots) {
      interrupt.check();
      const slotCtx = { ...ctx, setup, slot };
      const prepared = benchmark.beforeEach === undefined ? null : await benchmark.beforeEach(slotCtx);
      const context = { ...slotCtx, prepared };
      const loadAvg1 = loadAverage1();
      const measurement = await withCleanup(
        async () => {
          const child = spawnChild({ context });
          interrupt.current = child.process;
          try {
            return await child.result;
          } finally {
            interrupt.current = undefined;
          }
        },
        async () => benchmark.afterEach?.(context),
        'afterEach',
      );
      interrupt.check();
      measured.push({ slot, measurement, loadAvg1 });
      console.error(
        `bench: [${slot.index + 1}/${slots.length}] ${slot.variant} (${slot.role}) round ${slot.round + 1}: ` +
          `${formatInteger(measurement.operations)} ops in ${measurement.seconds.toFixed(2)} s, ` +
          `${formatInteger(measurement.opsPerSec)} ops/s, RSS peak ${measurement.rssPeakMb.toFixed(0)} MB`,
      );
    }
    return measured;
  };
  return withCleanup(body, () => benchmark.teardown(ctx, setup), 'teardown');
}

async function listBenchmarks(): Promise<void> {
  const rows: string[][] = [];
  for (const name of benchmarkNames()) {
    const b = await loadBenchmark(name);
    rows.push([name, formatInteger(b.defaultSize), b.description]);
  }
  console.log(
    formatTable(
      [
        { header: 'benchmark', align: 'left' },
        { header: 'default size', align: 'right' },
        { header: 'measures', align: 'left' },
      ],
      rows,
    ),
  );
  console.log('\nrun one: npm run bench -- <name> [--size N] [--repeat R]');
}

function newRunId(): string {
  return `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

async function main(argv: readonly string[]): Promise<number> {
  let args: ReturnType<typeof parseCliArgs>;
  try {
    args = parseCliArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`bench: ${err.message}\n\n${USAGE}`);
    return EXIT.usage;
  }
  if (args.command === 'help') {
    console.log(USAGE);
    return EXIT.ok;
  }
  if (args.command === 'list') {
    await listBenchmarks();
    return EXIT.ok;
  }

  let benchmark: AnyBenchmark;
  try {
    benchmark = await loadBenchmark(args.name);
  } catch (err) {
    if (!(err instanceof UnknownBenchmarkError)) throw err;
    console.error(`bench: ${err.message}`);
    return EXIT.usage;
  }

  const services = await findServices();
  const problem = 'problem' in services ? services.problem : await checkServices(services);
  if (problem !== undefined || 'problem' in services) {
    console.error(`bench: ${problem}; ${START_SERVICES_HINT}`);
    return EXIT.usage;
  }

  const interrupt = new Interrupt();
  interrupt.listen();
  const ctx: BenchContext = {
    benchmark: benchmark.name,
    runId: newRunId(),
    size: args.size ?? benchmark.defaultSize,
    services,
  };
  const machine = describeMachine(new Date());
  if (machine.loadAvg1 > machine.cpus) {
    console.error(
      `bench: the machine is busy (load ${machine.loadAvg1} on ${machine.cpus} CPUs): ` +
        'absolute figures will be low and per-round ratios spread; more rounds (--repeat 5) help',
    );
  }
  console.error(
    `bench: ${ctx.benchmark} size ${formatInteger(ctx.size)} repeat ${args.repeat} run ${ctx.runId}`,
  );
  let measured: SlotMeasurement[];
  try {
    measured = await measureAll(benchmark, ctx, args.repeat, interrupt);
  } catch (err) {
    if (interrupt.interrupted) {
      console.error('bench: interrupted; nothing reported');
      return EXIT.interrupted;
    }
    console.error(
      `bench: ${ctx.benchmark} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
    );
    return EXIT.failure;
  }

  const report = buildReport(
    benchmark,
    { size: ctx.size, repeat: args.repeat, runId: ctx.runId, machine },
    measured,
  );
  const line = JSON.stringify(report);
  const file = await appendResult(report, line);
  console.log(renderReport(report));
  console.log(`\nappended to ${path.relative(process.cwd(), file)}`);
  console.log(line);
  return EXIT.ok;
}

process.exitCode = await main(process.argv.slice(2));
