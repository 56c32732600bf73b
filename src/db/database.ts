import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Logger } from '../logging/logger.js';
import type { Database } from './schema.js';

export type Db = Kysely<Database>;

/**
 * A pool (or a client) for the delivery's hot statements (the claim and the record). They run as
 * named prepared statements: parsed once per connection, then only bound and executed, with no
 * query builder in between.
 */
export type Queryable = Pick<pg.Pool, 'query'>;

// Parsers per pool (not pg's global registry), so that nothing else in the process changes meaning.
const INT8 = 20;
const DATE = 1082;
const typeParsers = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    // bigint ids stay well inside Number.MAX_SAFE_INTEGER; dates stay 'YYYY-MM-DD' (no zone shift).
    if (oid === INT8) return (value: string) => Number(value);
    if (oid === DATE) return (value: string) => value;
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

export interface PoolOptions {
  url: string;
  max: number;
  applicationName: string;
  logger: Logger;
}

/**
 * A pg pool that survives a PostgreSQL restart: idle clients that die emit 'error' on the pool,
 * which is logged instead of crashing the process; the next query opens a new connection.
 */
export function createPool(options: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.max,
    application_name: options.applicationName,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
    types: typeParsers,
  });
  pool.on('error', (err) =>
    options.logger.warn({ err }, 'idle PostgreSQL connection failed; it will be replaced'),
  );
  return pool;
}

export function createDb(pool: pg.Pool): Db {
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}

/**
 * The same connection without the schema's types, for code that works on any schema (the migrator,
 * introspection). Kysely's builder types are invariant in the schema, hence the one cast here.
 */
export function untyped(db: Db): Kysely<unknown> {
  return db as unknown as Kysely<unknown>;
}
