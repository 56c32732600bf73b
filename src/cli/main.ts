import { existsSync } from 'node:fs';
import { type Env, formatProblems, loadConfig } from '../config/config.js';
import { buildDeps } from '../deps.js';
import { buildHttpApp } from '../http/app.js';
import { migrateCommand } from './commands/migrate.js';
import { readyCommand } from './commands/ready.js';
import { EXIT } from './exit-codes.js';
import { runUntilSignal } from './lifecycle.js';
import { createOutput, type Output } from './output.js';

const USAGE = `usage: consentcast <command> [--json]

commands:
  migrate [latest|down|zero|status]   apply or inspect migrations (as DATABASE_OWNER_URL)
  ready                               check PostgreSQL, Redis, migrations and the database role
  api                                 serve HTTP: /healthz, /readyz

exit codes: 0 ok, 1 failure, 2 bad configuration or usage, 3 not ready`;

/** Loads .env from the working directory when present; real environment variables win. */
export function loadDotEnv(path = '.env'): void {
  if (existsSync(path)) process.loadEnvFile(path);
}

async function apiRole(env: Env, out: Output): Promise<number> {
  const loaded = loadConfig(env);
  if (!loaded.ok) {
    out.error(formatProblems(loaded.problems));
    return EXIT.usage;
  }
  const deps = buildDeps(loaded.config, { role: 'api' });
  return runUntilSignal(deps, async () => {
    const app = await buildHttpApp(deps);
    await app.listen({ host: loaded.config.http.host, port: loaded.config.http.port });
    return () => app.close();
  });
}

export async function runCli(argv: readonly string[], env: Env): Promise<number> {
  const json = argv.includes('--json');
  const args = argv.filter((a) => a !== '--json');
  const out = createOutput(json);
  const [command, ...rest] = args;
  switch (command) {
    case 'migrate':
      return migrateCommand(rest, env, out);
    case 'ready': {
      const loaded = loadConfig(env);
      if (!loaded.ok) {
        out.error(formatProblems(loaded.problems));
        return EXIT.usage;
      }
      return readyCommand(loaded.config, out);
    }
    case 'api':
      return apiRole(env, out);
    case undefined:
    case 'help':
    case '--help':
      out.error(USAGE);
      return command === undefined ? EXIT.usage : EXIT.ok;
    default:
      out.error(`consentcast: unknown command "${command}"\n\n${USAGE}`);
      return EXIT.usage;
  }
}
