import { parseArgs } from 'node:util';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Env } from '../../config/config.js';
import { formatProblems } from '../../config/config.js';
import { loadDatabaseConfig } from '../../config/database-config.js';
import { migrateDown, migrateToLatest, migrateToZero, migrationStatus } from '../../db/migrator.js';
import type { Command } from '../command.js';
import { EXIT } from '../exit-codes.js';
import type { Output } from '../output.js';
import { UsageError } from '../usage-error.js';

const ACTIONS = ['latest', 'down', 'zero', 'status'] as const;

/** `consentcast migrate [latest|down|zero|status]`, as the schema owner (DATABASE_OWNER_URL). */
export async function migrateCommand(args: readonly string[], env: Env, out: Output): Promise<number> {
  const { positionals } = parseArgs({ args: [...args], options: {}, allowPositionals: true, strict: true });
  const action = ACTIONS.find((a) => a === (positionals[0] ?? 'latest'));
  if (action === undefined || positionals.length > 1)
    throw new UsageError(`expected one action: ${ACTIONS.join(', ')} (default latest)`);
  const config = loadDatabaseConfig(env);
  if (!config.ok) {
    out.error(formatProblems(config.problems));
    return EXIT.usage;
  }
  const db = new Kysely<unknown>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: config.ownerUrl, max: 1 }) }),
  });
  try {
    if (action === 'status') {
      const status = await migrationStatus(db);
      for (const m of status) out.line(`${m.executedAt ? 'applied' : 'pending'}  ${m.name}`);
      out.result({ migrations: status.map((m) => ({ name: m.name, appliedAt: m.executedAt ?? null })) });
      return EXIT.ok;
    }
    const done =
      action === 'latest'
        ? await migrateToLatest(db)
        : action === 'down'
          ? await migrateDown(db)
          : await migrateToZero(db);
    for (const step of done) out.line(`migrate: ${step}`);
    if (done.length === 0) out.line('migrate: nothing to do');
    out.result({ steps: done });
    return EXIT.ok;
  } catch (err) {
    out.error(`migrate: ${err instanceof Error ? err.message : String(err)}`);
    return EXIT.failure;
  } finally {
    await db.destroy();
  }
}

export const migrate: Command = {
  name: 'migrate',
  usage: 'migrate [latest|down|zero|status]   apply or inspect migrations (as DATABASE_OWNER_URL)',
  run: migrateCommand,
};
