import { readdir } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  type Kysely,
  type Migration,
  type MigrationProvider,
  type MigrationResultSet,
  Migrator,
  sql,
} from 'kysely';

/** migrations/ beside src/ — in the source tree and in dist/ alike. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url));

/**
 * Loads migrations/NNNN_name.{ts,js}. Unlike Kysely's FileMigrationProvider, the import happens in
 * our own module, so it goes through whatever loader runs the app (tsx, vitest, or plain node on dist/).
 */
class MigrationFolderProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    const migrations: Record<string, Migration> = {};
    for (const file of (await readdir(MIGRATIONS_DIR)).sort()) {
      const match = /^(\d{4}_[a-z0-9_]+)\.(ts|js)$/.exec(file);
      if (!match?.[1] || file.endsWith('.d.ts')) continue;
      const module = (await import(pathToFileURL(`${MIGRATIONS_DIR}/${file}`).href)) as Partial<Migration>;
      if (typeof module.up !== 'function') throw new Error(`migration ${file} exports no up()`);
      migrations[match[1]] = module as Migration;
    }
    return migrations;
  }
}

export function createMigrator(db: Kysely<unknown>): Migrator {
  return new Migrator({ db, provider: new MigrationFolderProvider() });
}

export class MigrationError extends Error {
  override readonly name = 'MigrationError';
  constructor(
    message: string,
    readonly migration: string | undefined,
    override readonly cause: unknown,
  ) {
    super(message);
  }
}

async function unwrap(db: Kysely<unknown>, run: Promise<MigrationResultSet>): Promise<string[]> {
  const { error, results } = await run;
  const failed = results?.find((r) => r.status === 'Error');
  if (error !== undefined) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new MigrationError(
      `migration ${failed?.migrationName ?? '(setup)'} failed: ${detail}`,
      failed?.migrationName,
      error,
    );
  }
  // The application role reads the migration table to know whether the schema is current (/readyz).
  await sql`
    DO $$ BEGIN
      IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'consentcast_app') THEN
        GRANT SELECT ON kysely_migration TO consentcast_app;
      END IF;
    END $$
  `.execute(db);
  return (results ?? [])
    .filter((r) => r.status === 'Success')
    .map((r) => `${r.direction} ${r.migrationName}`);
}

export function migrateToLatest(db: Kysely<unknown>): Promise<string[]> {
  return unwrap(db, createMigrator(db).migrateToLatest());
}

export function migrateDown(db: Kysely<unknown>): Promise<string[]> {
  return unwrap(db, createMigrator(db).migrateDown());
}

export async function migrateToZero(db: Kysely<unknown>): Promise<string[]> {
  const { NO_MIGRATIONS } = await import('kysely');
  return unwrap(db, createMigrator(db).migrateTo(NO_MIGRATIONS));
}

export interface MigrationStatus {
  readonly name: string;
  readonly executedAt: Date | undefined;
}

export async function migrationStatus(db: Kysely<unknown>): Promise<MigrationStatus[]> {
  const list = await createMigrator(db).getMigrations();
  return list.map((m) => ({ name: m.name, executedAt: m.executedAt }));
}

/** Whether every migration in the tree has run (what /readyz and the start-up check ask). */
export async function pendingMigrations(db: Kysely<unknown>): Promise<string[]> {
  return (await migrationStatus(db)).filter((m) => m.executedAt === undefined).map((m) => m.name);
}
