import { existsSync } from 'node:fs';
import type { Env } from '../config/config.js';
import { parseArgsProblem, wantsHelp } from './arguments.js';
import type { Command } from './command.js';
import { COMMANDS } from './commands/index.js';
import { EXIT } from './exit-codes.js';
import { createOutput, type TextSink } from './output.js';
import { UsageError } from './usage-error.js';

const FOOTER = `--json: one JSON document on stdout, for scripts; --help: the usage of a command
exit codes: 0 ok, 1 failure, 2 bad configuration or usage, 3 not ready`;

async function usage(): Promise<string> {
  const commands = await Promise.all(COMMANDS.map((c) => c.load()));
  return `usage: consentcast <command> [--json]   (consentcast <command> --help: that command's usage)

commands:
${commands.map((c) => `  ${c.usage}`).join('\n')}

${FOOTER}`;
}

function commandHelp(command: Command): string {
  return `usage: consentcast ${command.usage}\n\n${FOOTER}\n`;
}

/** Loads .env from the working directory when present; real environment variables win. */
export function loadDotEnv(path = '.env'): void {
  if (existsSync(path)) process.loadEnvFile(path);
}

export interface CliStreams {
  readonly stdout: TextSink;
  readonly stderr: TextSink;
}

/**
 * `consentcast <command> ...`: the exit code. Help is answered before anything reads the
 * configuration; a usage problem is one line on stderr naming the command, and exit code 2.
 */
export async function runCli(
  argv: readonly string[],
  env: Env,
  streams: CliStreams = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  const json = argv.includes('--json');
  const args = argv.filter((a) => a !== '--json');
  const out = createOutput(json, streams.stdout, streams.stderr);
  const [name, ...rest] = args;
  if (name === undefined) {
    out.error('consentcast: which command? (consentcast --help lists them)');
    return EXIT.usage;
  }
  const asked = name === 'help' ? rest[0] : undefined;
  if (name === '--help' || name === '-h' || (name === 'help' && asked === undefined)) {
    streams.stdout.write(`${await usage()}\n`);
    return EXIT.ok;
  }
  const entry = COMMANDS.find((c) => c.name === (asked ?? name));
  if (!entry) {
    out.error(`consentcast: unknown command "${asked ?? name}" (consentcast --help lists the commands)`);
    return EXIT.usage;
  }
  const command = await entry.load();
  if (asked !== undefined || wantsHelp(rest)) {
    streams.stdout.write(commandHelp(command));
    return EXIT.ok;
  }
  try {
    return await command.run(rest, env, out);
  } catch (err) {
    const problem = err instanceof UsageError ? err.message : parseArgsProblem(err);
    if (problem === undefined) throw err;
    out.error(`consentcast ${name}: ${problem} (consentcast ${name} --help shows the usage)`);
    return EXIT.usage;
  }
}
