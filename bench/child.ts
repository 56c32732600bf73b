/**
 * One variant, measured in a process of its own: started by bench/run.ts as
 * `node --import <tsx loader> bench/child.ts` with the request in CONSENTCAST_BENCH_REQUEST.
 * Timing covers `run` only; RSS is the peak of the whole process (loading included, the same for
 * every variant of a benchmark since they share one module). A variant that runs the work in a
 * process of its own (a compiled `consentcast` command) reports that process's time and RSS instead.
 */
import { performance } from 'node:perf_hooks';
import { startMachineCpu } from './lib/machine-cpu.js';
import {
  CHILD_REQUEST_ENV,
  type ChildReply,
  type HandoffSummary,
  parseChildRequest,
} from './lib/protocol.js';
import { startRssSampler, toMb } from './lib/rss.js';
import { roundTo, summariseLatencies } from './lib/stats.js';
import { loadBenchmark } from './registry.js';

async function measure(): Promise<ChildReply> {
  const { context } = parseChildRequest(process.env[CHILD_REQUEST_ENV]);
  const benchmark = await loadBenchmark(context.benchmark);
  const variant = benchmark.variants.find((v) => v.name === context.slot.variant);
  if (variant === undefined) throw new Error(`${context.benchmark} has no variant ${context.slot.variant}`);

  const sampler = startRssSampler(20);
  const rssStart = process.memoryUsage.rss();
  const cpuBefore = process.cpuUsage();
  const machine = startMachineCpu();
  const started = performance.now();
  const outcome = await variant.run(context);
  const machineCpu = machine.stop();
  const cpu = process.cpuUsage(cpuBefore);
  // A variant that ran the work in a process of its own (bench/lib/cli-process.ts) reports that
  // process's time and memory: this child only waited for it.
  const seconds = outcome.process?.seconds ?? (performance.now() - started) / 1000;
  const childPeak = sampler.stop();
  const rssPeak = outcome.process?.rssPeakBytes ?? childPeak;
  const rssStartValue = outcome.process?.rssStartBytes ?? rssStart;

  if (!(Number.isFinite(outcome.operations) && outcome.operations > 0)) {
    throw new Error(`variant ${variant.name} reported ${outcome.operations} operations`);
  }
  return {
    ok: true,
    measurement: {
      operations: outcome.operations,
      seconds: roundTo(seconds, 4),
      opsPerSec: roundTo(outcome.operations / seconds, 1),
      latencyMs: summariseLatencies(outcome.latenciesMs ?? []),
      ...handoffOf(outcome.claimToHandoffMs),
      cpuSeconds: roundTo(outcome.process?.cpuSeconds ?? (cpu.user + cpu.system) / 1e6, 3),
      rssStartMb: roundTo(toMb(rssStartValue), 1),
      rssPeakMb: roundTo(toMb(rssPeak), 1),
      machineCpu:
        machineCpu === null
          ? null
          : {
              total: roundTo(machineCpu.total, 3),
              postgres: roundTo(machineCpu.postgres, 3),
              redis: roundTo(machineCpu.redis, 3),
            },
    },
  };
}

function reply(message: ChildReply): Promise<void> {
  const send = process.send?.bind(process);
  if (send === undefined) {
    console.log(JSON.stringify(message));
    return Promise.resolve();
  }
  return new Promise((resolve) => send(message, () => resolve()));
}

let message: ChildReply;
try {
  message = await measure();
} catch (err) {
  message = { ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) };
}
await reply(message);
// Exit even if a variant left a handle open: the measurement is taken and sent.
process.exit(message.ok ? 0 : 1);

function handoffOf(samples: readonly number[] | undefined): { claimToHandoffMs?: HandoffSummary } {
  const summary = summariseLatencies(samples ?? []);
  return summary === null
    ? {}
    : { claimToHandoffMs: { p50: summary.p50, p99: summary.p99, max: summary.max } };
}
