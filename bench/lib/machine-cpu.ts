import { readdirSync, readFileSync } from 'node:fs';

/**
 * Where the machine's CPU went while a variant ran: every process together (/proc/stat), and the
 * PostgreSQL and Redis servers by process name. The variant's own process is measured apart
 * (`cpuSeconds`); what is left is everything else on the machine (the fakes' process, the kernel's
 * work for other processes, any noise). Linux only: elsewhere the reading is null.
 *
 * PostgreSQL runs a process per connection, and a pool closed inside `run` takes its backends'
 * time away with them; the postmaster's cutime/cstime (children reaped) keeps that time, so both
 * are counted for processes named `postgres`.
 */
export interface MachineCpu {
  /** CPU seconds of every process on the machine, all cores. */
  readonly total: number;
  readonly postgres: number;
  readonly redis: number;
}

/** Linux's USER_HZ: /proc reports CPU time in these ticks (100 on every mainstream architecture). */
const TICKS_PER_SECOND = 100;

interface Reading {
  readonly busyTicks: number;
  readonly byServer: { postgres: number; redis: number };
}

function busyTicks(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
  return [user, nice, system, irq, softirq, steal].reduce<number>((sum, n) => sum + (n ?? 0), 0);
}

/** utime + stime + cutime + cstime of one process, with its command name; undefined if it is gone. */
function processTicks(pid: string): { name: string; ticks: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // exited between the listing and the read
  }
  // "pid (comm) state ppid ..." — comm may contain spaces and parentheses: split at the last ')'
  const close = text.lastIndexOf(')');
  const name = text.slice(text.indexOf('(') + 1, close);
  const fields = text
    .slice(close + 2)
    .split(' ')
    .map(Number);
  // fields[0] is state (field 3); utime..cstime are fields 14-17
  const ticks = (fields[11] ?? 0) + (fields[12] ?? 0) + (fields[13] ?? 0) + (fields[14] ?? 0);
  return { name, ticks };
}

function read(): Reading | null {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return null;
  }
  const byServer = { postgres: 0, redis: 0 };
  for (const pid of pids) {
    const p = processTicks(pid);
    if (p === undefined) continue;
    if (p.name === 'postgres') byServer.postgres += p.ticks;
    else if (p.name === 'redis-server') byServer.redis += p.ticks;
  }
  return { busyTicks: busyTicks(), byServer };
}

/** Starts a measurement; `stop()` returns the CPU seconds spent since, or null off Linux. */
export function startMachineCpu(): { stop(): MachineCpu | null } {
  const before = read();
  return {
    stop() {
      const after = read();
      if (before === null || after === null) return null;
      const seconds = (ticks: number) => Math.max(0, ticks) / TICKS_PER_SECOND;
      return {
        total: seconds(after.busyTicks - before.busyTicks),
        postgres: seconds(after.byServer.postgres - before.byServer.postgres),
        redis: seconds(after.byServer.redis - before.byServer.redis),
      };
    },
  };
}
