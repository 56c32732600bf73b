import { parseArgs } from 'node:util';

/** A fault the self-check must catch; test-only (test/integration/demo), not in the usage text. */
export type InjectedFault = 'duplicate' | 'after-withdrawal';

export interface DemoOptions {
  /** People in the synthetic audience. */
  readonly size: number;
  /** People whose consent is withdrawn through the API while the campaign sends. */
  readonly withdrawals: number;
  /** Keep the roles and fakes up after the check, until Ctrl-C. */
  readonly keepRunning: boolean;
  /** The demo's own database on the configured server: dropped and created again by every run. */
  readonly database: string;
  /** The demo's own BullMQ key prefix: its queues are emptied by every run. */
  readonly queuePrefix: string;
  readonly httpPort: number;
  /** RATE_LIMIT_<CHANNEL>_PER_SECOND of the demo's channel workers. */
  readonly ratePerSecond: number;
  /** Where the roles' logs and the fakes' delivery log go (emptied by every run). */
  readonly dir: string;
  /** Test-only: faults to inject before the check (`--inject duplicate,after-withdrawal`). */
  readonly inject: readonly InjectedFault[];
}

export const USAGE = `usage: bash scripts/demo.sh [--size N] [--withdrawals N] [--keep-running] [--http-port N]
                          [--rate N] [--database NAME] [--queue-prefix P] [--dir DIR]
  --size N          people in the synthetic audience (default 20000; 100-1000000)
  --withdrawals N   consents withdrawn through the API while sending (default size/100, at most 200)
  --keep-running    leave the API, the roles and the fakes up until Ctrl-C
  --http-port N     port of the api role (default HTTP_PORT, else 8080)
  --rate N          sends per second per channel (default 1000)
  --database NAME   the demo's database, recreated by every run (default consentcast_demo)
  --queue-prefix P  the demo's BullMQ prefix, emptied by every run (default ccdemo)
  --dir DIR         logs and the fakes' delivery log (default .data/demo)`;

const NAME = /^[a-z][a-z0-9_]{0,62}$/;
const PREFIX = /^[A-Za-z0-9_-]{1,32}$/;

function integer(
  value: string | undefined,
  flag: string,
  fallback: number,
  min: number,
  max: number,
  problems: string[],
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    problems.push(`${flag} must be a whole number ${min}-${max}, got "${value}"`);
    return fallback;
  }
  return n;
}

/** Parses the demo's arguments; a list of problems (one per bad flag) when any is wrong. */
export function parseDemoArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): { ok: true; options: DemoOptions } | { ok: false; problems: string[] } {
  let values: ReturnType<typeof parse>['values'];
  try {
    values = parse(argv).values;
  } catch (err) {
    return { ok: false, problems: [err instanceof Error ? err.message : String(err)] };
  }
  const problems: string[] = [];
  const size = integer(values.size, '--size', 20_000, 100, 1_000_000, problems);
  const withdrawals = integer(
    values.withdrawals,
    '--withdrawals',
    Math.min(200, Math.max(3, Math.round(size / 100))),
    0,
    Math.min(10_000, size),
    problems,
  );
  const httpPort = integer(values['http-port'] ?? env.HTTP_PORT, '--http-port', 8080, 1, 65_535, problems);
  const ratePerSecond = integer(values.rate, '--rate', 1_000, 1, 10_000, problems);
  const database = values.database ?? 'consentcast_demo';
  if (!NAME.test(database)) problems.push('--database must be a-z, 0-9 and _, starting with a letter');
  const queuePrefix = values['queue-prefix'] ?? 'ccdemo';
  if (!PREFIX.test(queuePrefix)) problems.push('--queue-prefix must be 1-32 letters, digits, _ or -');
  const inject = values.inject === undefined ? [] : values.inject.split(',');
  if (inject.some((f) => f !== 'duplicate' && f !== 'after-withdrawal')) {
    problems.push('--inject is a comma-separated list of duplicate, after-withdrawal');
  }
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    options: {
      size,
      withdrawals,
      keepRunning: values['keep-running'] === true,
      database,
      queuePrefix,
      httpPort,
      ratePerSecond,
      dir: values.dir ?? '.data/demo',
      inject: inject as InjectedFault[],
    },
  };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    options: {
      size: { type: 'string' },
      withdrawals: { type: 'string' },
      'keep-running': { type: 'boolean' },
      'http-port': { type: 'string' },
      rate: { type: 'string' },
      database: { type: 'string' },
      'queue-prefix': { type: 'string' },
      dir: { type: 'string' },
      inject: { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  });
}
