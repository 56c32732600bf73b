import { sql } from 'kysely';
import { type Config, formatProblems, loadConfig } from '../../config/config.js';
import { buildDeps, closeDeps } from '../../deps.js';
import { checkReadiness } from '../../health/readiness.js';
import { createLogger } from '../../logging/logger.js';
import type { Command } from '../command.js';
import { EXIT } from '../exit-codes.js';
import type { Output } from '../output.js';

/**
 * `consentcast ready`: PostgreSQL, Redis, migrations, and that the application connects as a role
 * that can rewrite neither consent evidence nor the audit log (not the owner, not a superuser).
 */
export async function readyCommand(config: Config, out: Output): Promise<number> {
  const deps = buildDeps(config, { role: 'ready', logger: createLogger({ level: 'silent', name: 'ready' }) });
  try {
    const readiness = await checkReadiness(deps, 5_000);
    let role = { ok: false, detail: 'unknown (PostgreSQL unreachable)' };
    if (readiness.checks.postgres.ok) {
      const { rows } = await sql<{ name: string; superuser: boolean; owns: boolean }>`
        SELECT current_user AS name,
               (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS superuser,
               EXISTS (SELECT 1 FROM pg_tables WHERE tablename = 'consent_events' AND tableowner = current_user) AS owns
      `.execute(deps.db);
      const me = rows[0];
      if (me !== undefined) {
        role =
          me.superuser || me.owns
            ? {
                ok: false,
                detail: `${me.name} is ${me.superuser ? 'a superuser' : 'the schema owner'}; connect as the application role`,
              }
            : { ok: true, detail: `${me.name} (not owner, not superuser)` };
      }
    }
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
  async run(_args, env, out) {
    const loaded = loadConfig(env);
    if (!loaded.ok) {
      out.error(formatProblems(loaded.problems));
      return EXIT.usage;
    }
    return readyCommand(loaded.config, out);
  },
};
