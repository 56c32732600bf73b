import { describe, expect, it } from 'vitest';
import { startMachineCpu } from '../../../bench/lib/machine-cpu.js';

describe('the machine CPU reading of the benchmarks', () => {
  it('counts this process spinning as machine CPU', () => {
    const reading = startMachineCpu();
    const own = process.cpuUsage();
    const until = Date.now() + 300;
    let spins = 0;
    while (Date.now() < until) spins++;
    const spent = process.cpuUsage(own);
    const cpu = reading.stop();
    expect(spins).toBeGreaterThan(0);
    expect(cpu).not.toBeNull();
    // every process on every core includes this one; /proc counts in 10 ms ticks
    expect(cpu?.total ?? 0).toBeGreaterThanOrEqual((spent.user + spent.system) / 1e6 - 0.03);
    expect(cpu?.postgres).toBeGreaterThanOrEqual(0);
    expect(cpu?.redis).toBeGreaterThanOrEqual(0);
  });
});
