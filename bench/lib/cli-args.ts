import { parseArgs } from 'node:util';

export const USAGE = `usage: npm run bench -- [<name> [--size N] [--repeat R]]

  (no name)     list the benchmarks
  <name>        run its baseline and subject variants, each in a child process of its own
  --size N      operations per variant run (default: the benchmark's own)
  --repeat R    rounds; each round runs the baseline, then every subject (default 1)`;

export type CliArgs =
  | { readonly command: 'list' }
  | { readonly command: 'help' }
  | {
      readonly command: 'run';
      readonly name: string;
      readonly size: number | undefined;
      readonly repeat: number;
    };

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

function positiveInteger(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = /^[0-9][0-9_]*$/.test(text) ? Number(text.replaceAll('_', '')) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < 1)
    throw new UsageError(`${flag} wants a positive integer, not ${text}`);
  return value;
}

export function parseCliArgs(argv: readonly string[]): CliArgs {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const { values, positionals } = parsed;
  if (values.help === true) return { command: 'help' };
  if (positionals.length > 1) throw new UsageError(`one benchmark at a time, not ${positionals.join(' ')}`);
  const name = positionals[0];
  if (name === undefined) {
    if (values.size !== undefined || values.repeat !== undefined)
      throw new UsageError('--size and --repeat need a name');
    return { command: 'list' };
  }
  return {
    command: 'run',
    name,
    size: positiveInteger('--size', values.size),
    repeat: positiveInteger('--repeat', values.repeat) ?? 1,
  };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      size: { type: 'string' },
      repeat: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
