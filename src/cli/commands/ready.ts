import { type Config, formatProblems, loadConfig } from '../../config/config.js';
import { buildDeps, closeDeps } from '../../deps.js';
import { checkDatabaseRole } from '../../health/database-role.js';
import { type CheckResult, checkReadiness } from '../../health/readiness.js';
import { createLogger } from '../../logging/logger.js';
import { noArguments } from '../arguments.js';
import type { Command } from '../command.js';
import { EXIT } from '../exit-codes.js';
import type { Output } from '../output.js';

/**
 * `consentcast ready`: PostgreSQL, Redis, migrations, and that the application connects as a role
 * that can rewrite neither consent evidence nor the audit log (not the owner nor a member of it, not
 * a superuser: src/health/database-role.ts).
 */
export async function readyCommand(config: Config, out: Output): Promise<number> {
  const deps = buildDeps(config, { role: 'ready', logger: createLogger({ level: 'silent', name: 'ready' }) });
  try {
    const readiness = await checkReadiness(deps, 5_000);
    const role: CheckResult = readiness.checks.postgres.ok
      ? await checkDatabaseRole(deps.db).catch((err: unknown) => ({
          ok: false,
          detail: `unknown (${err instanceof Error ? err.message : String(err)})`,
        }))
      : { ok: false, detail: 'unknown (PostgreSQL unreachable)' };
    const checks = { ...readiness.checks, role };
    for (const [name, check] of Object.entries(checks)) {
      out.line(`${check.ok ? 'ok  ' : 'FAIL'}  ${name.padEnd(10)} ${check.detail}`);
    }
    const ready = readiness.ready && role.ok;
    out.line(ready ? 'consentcast is ready' : 'consentcast is NOT ready');
    out.result({ ready, checks });
    return ready ? EXIT.ok : EXIT.notReady;
  } finally {
    await closeDeps(deps);
  }
}

export const ready: Command = {
  name: 'ready',
  usage: 'ready                               check PostgreSQL, Redis, migrations and the database role',
  async run(args, env, out) {
    noArguments(args);
    const loaded = loadConfig(env);
    if (!loaded.ok) {
      out.error(formatProblems(loaded.problems));
      return EXIT.usage;
    }
    return readyCommand(loaded.config, out);
  },
};
