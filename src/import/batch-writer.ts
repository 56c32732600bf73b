import type pg from 'pg';
import type { Batch, PersonGroup } from './batch.js';
import { ConcurrentErasureError } from './concurrent-erasure-error.js';
import type { RowProblem } from './import-row.js';
import {
  DROP_STAGED_SQL,
  FIND_ERASED_SQL,
  LINK_PEOPLE_SQL,
  LOCK_PEOPLE_SQL,
  RECORD_CONSENTS_SQL,
  UPSERT_DEVICES_SQL,
  UPSERT_PEOPLE_SQL,
} from './merge-sql.js';
import {
  ANALYZE_STAGING_SQL,
  CREATE_STAGING_SQL,
  DROP_STAGING_SQL,
  EMPTY_STAGING_SQL,
  stageGroups,
} from './staging.js';

/** What the batches wrote, added up. */
export interface WriteCounts {
  peopleCreated: number;
  /** Existing people whose fields changed (unchanged ones are not written). */
  peopleUpdated: number;
  devicesAdded: number;
  /** Known tokens that moved to another person or platform. */
  devicesMoved: number;
  consentEventsRecorded: number;
  /** Events recorded already (by an earlier import, or earlier in this file): not appended again. */
  consentEventsDuplicate: number;
  /** Current consent states created or replaced by a later event. */
  consentStatesChanged: number;
}

export function zeroCounts(): WriteCounts {
  return {
    peopleCreated: 0,
    peopleUpdated: 0,
    devicesAdded: 0,
    devicesMoved: 0,
    consentEventsRecorded: 0,
    consentEventsDuplicate: 0,
    consentStatesChanged: 0,
  };
}

export function addCounts(into: WriteCounts, more: WriteCounts): void {
  for (const key of Object.keys(into) as (keyof WriteCounts)[]) into[key] += more[key];
}

export interface BatchResult {
  readonly counts: WriteCounts;
  /** Rows written (or, in a dry run, that would have been). */
  readonly imported: number;
  readonly rejected: readonly RowProblem[];
}

export interface BatchWriterOptions {
  /** Keyed hash of the operator, stamped on every consent event as actor. */
  readonly actorHash: string;
  /** The import's id, stamped on every consent event as request_id. */
  readonly importId: string;
  /** Roll every batch back instead of committing it. */
  readonly dryRun: boolean;
}

const ERASED = 'erased person; not re-created';
const MAX_ATTEMPTS = 3;

function sqlState(err: unknown): string | undefined {
  const code = typeof err === 'object' && err !== null && 'code' in err ? err.code : undefined;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** Data exceptions (22) and integrity violations (23) belong to rows; anything else to the import. */
function isRowLevel(err: unknown): boolean {
  const state = sqlState(err);
  return state !== undefined && (state.startsWith('22') || state.startsWith('23'));
}

/** A deadlock, a serialization failure or an erasure racing the batch: it may simply run again. */
function isRetryable(err: unknown): boolean {
  if (err instanceof ConcurrentErasureError) return true;
  const state = sqlState(err);
  return state === '40P01' || state === '40001';
}

/** Names what the database refused without quoting the row (pg's detail text carries values). */
function refusal(err: unknown): string {
  const constraint =
    typeof err === 'object' && err !== null && 'constraint' in err && typeof err.constraint === 'string'
      ? err.constraint
      : undefined;
  return constraint === undefined
    ? `rejected by the database (SQLSTATE ${sqlState(err) ?? 'unknown'})`
    : `rejected by the database (constraint ${constraint})`;
}

async function one<T>(client: pg.PoolClient, text: string, values?: unknown[]): Promise<T> {
  const { rows } = await client.query(text, values);
  const row = rows[0] as T | undefined;
  if (row === undefined) throw new Error('expected a row');
  return row;
}

/**
 * Writes batches on one connection: each batch is one transaction (COPY into the staging tables,
 * then one set-based statement per target table). Rows of a batch land together; if the database
 * refuses something the validation did not foresee, the batch is split in halves under savepoints
 * until the refused client numbers are isolated, and only they are rejected.
 */
export class BatchWriter {
  constructor(
    private readonly client: pg.PoolClient,
    private readonly options: BatchWriterOptions,
  ) {}

  /** Creates the staging tables (once per connection). */
  async prepare(): Promise<void> {
    await this.client.query(CREATE_STAGING_SQL);
  }

  /** Drops the staging tables, so that the connection goes back to the pool as it came. */
  async finish(): Promise<void> {
    await this.client.query(DROP_STAGING_SQL);
  }

  async write(batch: Batch): Promise<BatchResult> {
    const groups = [...batch.groups.values()];
    for (let attempt = 1; ; attempt++) {
      await this.client.query('BEGIN');
      try {
        const result = await this.writeGroups(batch, groups, true);
        await this.client.query(this.options.dryRun ? 'ROLLBACK' : 'COMMIT');
        return result;
      } catch (err) {
        await this.client.query('ROLLBACK').catch(() => undefined);
        if (attempt < MAX_ATTEMPTS && isRetryable(err)) continue;
        throw err;
      }
    }
  }

  private async writeGroups(
    batch: Batch,
    groups: readonly PersonGroup[],
    whole: boolean,
  ): Promise<BatchResult> {
    await this.client.query('SAVEPOINT import_part');
    try {
      const result = await this.merge(batch, groups);
      await this.client.query('RELEASE SAVEPOINT import_part');
      // A part of a split batch leaves its rows staged; the next part must start from empty tables.
      if (!whole) await this.client.query(EMPTY_STAGING_SQL);
      return result;
    } catch (err) {
      if (!isRowLevel(err)) throw err;
      await this.client.query('ROLLBACK TO SAVEPOINT import_part');
      await this.client.query('RELEASE SAVEPOINT import_part');
      const [single] = groups;
      if (groups.length === 1 && single !== undefined) {
        const message = refusal(err);
        return {
          counts: zeroCounts(),
          imported: 0,
          rejected: single.lines.map((line) => ({ line, field: null, message })),
        };
      }
      const middle = Math.ceil(groups.length / 2);
      const first = await this.writeGroups(batch, groups.slice(0, middle), false);
      const second = await this.writeGroups(batch, groups.slice(middle), false);
      const counts = { ...first.counts };
      addCounts(counts, second.counts);
      return {
        counts,
        imported: first.imported + second.imported,
        rejected: [...first.rejected, ...second.rejected],
      };
    }
  }

  private async merge(batch: Batch, groups: readonly PersonGroup[]): Promise<BatchResult> {
    const { client } = this;
    await stageGroups(client, batch, groups);
    await client.query(ANALYZE_STAGING_SQL);
    await client.query(LOCK_PEOPLE_SQL);

    const rejected: RowProblem[] = [];
    let imported = groups.reduce((n, g) => n + g.lines.length, 0);
    const erased = (await client.query<{ client_number: string }>(FIND_ERASED_SQL)).rows;
    if (erased.length > 0) {
      const names = erased.map((r) => r.client_number);
      await client.query(DROP_STAGED_SQL, [names]);
      const set = new Set(names);
      for (const g of groups) {
        if (!set.has(g.clientNumber)) continue;
        imported -= g.lines.length;
        for (const line of g.lines) rejected.push({ line, field: 'client_number', message: ERASED });
      }
    }

    const people = await one<{ created: number; updated: number }>(client, UPSERT_PEOPLE_SQL);
    await client.query(LINK_PEOPLE_SQL);
    const devices = await one<{ added: number; moved: number }>(client, UPSERT_DEVICES_SQL);
    const consents = await one<{ staged: number; recorded: number; applied: number }>(
      client,
      RECORD_CONSENTS_SQL,
      [this.options.actorHash, this.options.importId],
    );
    // An erasure that committed after the first look (a tombstone, a nulled client number) could have
    // let the upsert re-create the person: look again now that everything is written.
    if ((await client.query(FIND_ERASED_SQL)).rows.length > 0) {
      throw new ConcurrentErasureError('a person of the batch was erased while it was written');
    }
    return {
      counts: {
        peopleCreated: people.created,
        peopleUpdated: people.updated,
        devicesAdded: devices.added,
        devicesMoved: devices.moved,
        consentEventsRecorded: consents.recorded,
        consentEventsDuplicate: consents.staged - consents.recorded,
        consentStatesChanged: consents.applied,
      },
      imported,
      rejected,
    };
  }
}
