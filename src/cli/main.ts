import { existsSync } from 'node:fs';
import type { Env } from '../config/config.js';
import { COMMANDS } from './commands/index.js';
import { EXIT } from './exit-codes.js';
import { createOutput } from './output.js';

async function usage(): Promise<string> {
  const commands = await Promise.all(COMMANDS.map((c) => c.load()));
  return `usage: consentcast <command> [--json]

commands:
${commands.map((c) => `  ${c.usage}`).join('\n')}

exit codes: 0 ok, 1 failure, 2 bad configuration or usage, 3 not ready`;
}

/** Loads .env from the working directory when present; real environment variables win. */
export function loadDotEnv(path = '.env'): void {
  if (existsSync(path)) process.loadEnvFile(path);
}

export async function runCli(argv: readonly string[], env: Env): Promise<number> {
  const json = argv.includes('--json');
  const args = argv.filter((a) => a !== '--json');
  const out = createOutput(json);
  const [name, ...rest] = args;
  if (name === undefined || name === 'help' || name === '--help') {
    out.error(await usage());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const entry = COMMANDS.find((c) => c.name === name);
  if (!entry) {
    out.error(`consentcast: unknown command "${name}"\n\n${await usage()}`);
    return EXIT.usage;
  }
  const command = await entry.load();
  return command.run(rest, env, out);
}
