import { parseArgs } from 'node:util';

/**
 * The parts of argument handling every command shares: `--help` anywhere before a `--` asks for the
 * command's usage (answered before configuration is read), a command without options refuses any,
 * and the errors of `util.parseArgs` become one line — Node's messages span lines and advise `--`.
 */

/** Whether the arguments ask for help: `--help` or `-h` before any `--`. */
export function wantsHelp(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

/** For a command that takes neither options nor arguments (the roles, `ready`). */
export function noArguments(args: readonly string[]): void {
  parseArgs({ args: [...args], options: {}, strict: true, allowPositionals: false });
}

const PARSE_ARGS_CODES = [
  'ERR_PARSE_ARGS_UNKNOWN_OPTION',
  'ERR_PARSE_ARGS_INVALID_OPTION_VALUE',
  'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL',
];

/** The option an error of `util.parseArgs` names ("Option '-x, --name <value>' ..." gives --name). */
function optionIn(message: string): string | undefined {
  return /^Option '(?:-[^,' ]+, )?([^' ]+)/.exec(message)?.[1];
}

/** One line for an error thrown by `util.parseArgs`; undefined for any other error. */
export function parseArgsProblem(err: unknown): string | undefined {
  if (!(err instanceof Error) || !('code' in err) || typeof err.code !== 'string') return undefined;
  if (!PARSE_ARGS_CODES.includes(err.code)) return undefined;
  const message = err.message;
  const firstLine = message.split('\n')[0] ?? message;
  const quoted = /'([^']*)'/.exec(message)?.[1];
  const option = optionIn(message);
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && quoted !== undefined) return `unknown option ${quoted}`;
  if (err.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL' && quoted !== undefined)
    return `unexpected argument "${quoted}"`;
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option !== undefined) {
    if (message.includes('argument missing')) return `${option} needs a value`;
    if (message.includes('ambiguous'))
      return `${option} needs a value (a value that starts with a dash: ${option}=-...)`;
    if (message.includes('does not take an argument')) return `${option} takes no value`;
  }
  return firstLine;
}
