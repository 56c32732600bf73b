import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type pg from 'pg';
import { audit } from '../audit/audit.js';
import { type Actor, describeActor } from '../auth/actor.js';
import { keyedHash } from '../crypto/pseudonym.js';
import type { Db } from '../db/database.js';
import { scrubText } from '../logging/scrub.js';
import { Batch, type RowEncoder } from './batch.js';
import { addCounts, type BatchResult, BatchWriter, type WriteCounts, zeroCounts } from './batch-writer.js';
import { readCsv } from './csv-reader.js';
import { ImportFileError } from './import-file-error.js';
import { type ImportFormat, isUnreadable, type RowProblem, type SourceItem } from './import-row.js';
import { readNdjson } from './ndjson-reader.js';
import { copyEncoder } from './staging.js';
import { type KnownNotices, validateImportRow } from './validate-row.js';

/**
 * Rows per transaction. Larger batches are not faster here (the database's per-row work dominates,
 * docs/import.md), but every batch in memory is promoted to V8's old space, so they cost RSS.
 */
export const DEFAULT_BATCH_SIZE = 2_000;
/**
 * Connections writing at once. The database's per-row work (constraints, foreign keys, the ledger's
 * trigger) runs on one core per connection, so a server with idle cores may take more; on the shared
 * two-core development machines a second connection made no measurable difference (docs/import.md).
 * With one, a push token named for several people goes to the last of them; with more, to whichever
 * connection commits last.
 */
export const DEFAULT_PARALLEL = 1;
/** Row problems kept for the summary; all of them go to `onProblem` as they are found. */
const PROBLEMS_KEPT = 100;

export interface ImportDeps {
  readonly pool: pg.Pool;
  readonly db: Db;
  readonly pseudonymSecret: string;
}

export interface ImportOptions {
  readonly format: ImportFormat;
  readonly actor: Actor;
  /** What the audit log calls the source: a file's base name or `stdin`. Never a path. */
  readonly source: string;
  /** The source file's size, when known: the audit entry of the start records it. */
  readonly sourceBytes?: number;
  readonly batchSize?: number;
  /** Connections writing at once (each client number always on the same one); at most the pool's size. */
  readonly parallel?: number;
  readonly dryRun?: boolean;
  /** Stops reading: the rows read so far are written, the rest of the file is not read. */
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: ImportProgress) => void;
  readonly onProblem?: (problem: RowProblem) => void;
}

export interface ImportProgress {
  readonly read: number;
  readonly imported: number;
  readonly rejected: number;
  readonly elapsedMs: number;
}

export interface ImportSummary {
  readonly importId: string;
  readonly source: string;
  readonly format: ImportFormat;
  readonly dryRun: boolean;
  /** `failed`: the import stopped early (`failure` says why); batches committed before it stay. */
  readonly status: 'completed' | 'failed';
  readonly failure?: string;
  readonly rows: { readonly read: number; readonly imported: number; readonly rejected: number };
  readonly counts: WriteCounts;
  readonly seconds: number;
  readonly rowsPerSecond: number;
  /** The first problems found, by line; `problemsNotShown` more went to `onProblem` only. */
  readonly problems: readonly RowProblem[];
  readonly problemsNotShown: number;
}

/** The running totals of one import. */
class Tally {
  readonly started = performance.now();
  readonly rows = { read: 0, imported: 0, rejected: 0 };
  readonly counts = zeroCounts();
  readonly problems: RowProblem[] = [];
  problemsNotShown = 0;

  constructor(private readonly options: ImportOptions) {}

  reject(rowProblems: readonly RowProblem[]): void {
    this.rows.rejected += 1;
    for (const p of rowProblems) {
      if (this.problems.length < PROBLEMS_KEPT) this.problems.push(p);
      else this.problemsNotShown += 1;
      this.options.onProblem?.(p);
    }
  }

  written(result: BatchResult): void {
    this.rows.imported += result.imported;
    addCounts(this.counts, result.counts);
    const byLine = new Map<number, RowProblem[]>();
    for (const p of result.rejected) byLine.set(p.line, [...(byLine.get(p.line) ?? []), p]);
    for (const lineProblems of byLine.values()) this.reject(lineProblems);
    this.progress();
  }

  progress(): void {
    this.options.onProgress?.({ ...this.rows, elapsedMs: performance.now() - this.started });
  }
}

/**
 * Writes one batch while the caller reads the next. A failed write is kept (not left as an unhandled
 * rejection) and thrown at the next batch boundary, which stops the reading.
 */
class WritePipeline {
  private writing: Promise<void> = Promise.resolve();
  private error: { readonly cause: unknown } | undefined;

  constructor(
    private readonly writer: BatchWriter,
    private readonly tally: Tally,
  ) {}

  async start(batch: Batch): Promise<void> {
    await this.drain();
    this.writing = this.writer.write(batch).then(
      (result) => this.tally.written(result),
      (cause: unknown) => {
        this.error = { cause };
      },
    );
  }

  /** Waits for the batch in flight; throws what it failed with. */
  async drain(): Promise<void> {
    await this.writing;
    if (this.error !== undefined) throw this.error.cause;
  }
}

function readItems(input: Readable, format: ImportFormat): AsyncGenerator<SourceItem[]> {
  return format === 'csv' ? readCsv(input) : readNdjson(input);
}

/** What may be said about a failure: no pg message text (it can quote values), only its code. */
function describeFailure(err: unknown): string {
  if (err instanceof ImportFileError) return err.message;
  const code = typeof err === 'object' && err !== null && 'code' in err ? err.code : undefined;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
    return code === '42501'
      ? 'the database role lacks a privilege the import needs (SQLSTATE 42501): it must be able to create TEMP tables (GRANT TEMPORARY ON DATABASE ... TO consentcast_app)'
      : `database error (SQLSTATE ${code})`;
  }
  return scrubText(err instanceof Error ? err.message : String(err));
}

async function loadNotices(client: pg.PoolClient): Promise<KnownNotices> {
  const { rows } = await client.query<{ version: string; text_sha256: string }>(
    'SELECT version, text_sha256 FROM notices',
  );
  return new Map(rows.map((r) => [r.version, r.text_sha256]));
}

/**
 * One writing connection with its batch being filled. Rows are spread over lanes by client number,
 * so that all rows of one person go through one lane, in file order.
 */
interface Lane {
  readonly client: pg.PoolClient;
  readonly writer: BatchWriter;
  readonly pipeline: WritePipeline;
  batch: Batch;
}

/** FNV-1a: a cheap, stable spread of client numbers over lanes. */
export function laneOf(clientNumber: string, lanes: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < clientNumber.length; i++) {
    h ^= clientNumber.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % lanes;
}

/** Reads, validates and batches every row; returns the line it stopped after when interrupted. */
async function readAndWrite(
  input: Readable,
  options: ImportOptions,
  notices: KnownNotices,
  encoder: RowEncoder,
  lanes: readonly Lane[],
  tally: Tally,
): Promise<number | undefined> {
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const now = Date.now();
  let lastLine = 0;
  let interrupted: number | undefined;
  for await (const items of readItems(input, options.format)) {
    for (const item of items) {
      tally.rows.read += 1;
      lastLine = Math.max(lastLine, item.line);
      if (isUnreadable(item)) {
        tally.reject([{ line: item.line, field: null, message: item.unreadable }]);
        continue;
      }
      const checked = validateImportRow(item, notices, now);
      if (!checked.ok) {
        tally.reject(checked.problems);
        continue;
      }
      const lane = lanes[laneOf(checked.row.clientNumber, lanes.length)];
      if (lane === undefined) throw new RangeError('no lane');
      lane.batch.add(checked.row);
      if (lane.batch.rows >= batchSize) {
        await lane.pipeline.start(lane.batch);
        lane.batch = new Batch(encoder);
      }
    }
    tally.progress();
    if (options.signal?.aborted) {
      interrupted = lastLine;
      break;
    }
  }
  for (const lane of lanes) if (lane.batch.rows > 0) await lane.pipeline.start(lane.batch);
  for (const lane of lanes) await lane.pipeline.drain();
  return interrupted;
}

/**
 * Imports people with their devices and consents from an NDJSON or CSV stream (docs/import.md).
 *
 * Rows are read and validated as they stream in and written batch by batch, each batch in one
 * transaction, on `parallel` connections (a person's rows always on the same one, in file order),
 * while the next batches are being read: memory holds at most two batches per connection. A row is written whole or not at all; invalid rows are reported by line and field and
 * skipped. One audit entry records the import (who, which source, how many; no personal data).
 */
export async function importPeople(
  deps: ImportDeps,
  input: Readable,
  options: ImportOptions,
): Promise<ImportSummary> {
  const importId = randomUUID();
  const dryRun = options.dryRun ?? false;
  const tally = new Tally(options);
  let failure: string | undefined;

  const encoder = copyEncoder(deps.pseudonymSecret);
  const writerOptions = {
    actorHash: keyedHash(deps.pseudonymSecret, 'actor', describeActor(options.actor)),
    importId,
    dryRun,
  };
  const count = Math.max(1, Math.min(options.parallel ?? DEFAULT_PARALLEL, deps.pool.options.max ?? 10));
  // Who started what is on record before the first row is read, whatever happens to the import after.
  if (!dryRun) await recordImportStart(deps.db, options, importId);
  const lanes: Lane[] = [];
  let broken = false;
  let fileError: ImportFileError | undefined;
  // A checked-out client whose connection dies emits 'error' between queries; unheard, that would
  // end the process. The failed query that follows (or the next one) reports it instead.
  const ignoreIdleError = (): void => undefined;
  try {
    for (let i = 0; i < count; i++) {
      const client = await deps.pool.connect();
      client.on('error', ignoreIdleError);
      const writer = new BatchWriter(client, writerOptions);
      lanes.push({ client, writer, pipeline: new WritePipeline(writer, tally), batch: new Batch(encoder) });
      await writer.prepare();
    }
    const [first] = lanes;
    if (first === undefined) throw new RangeError('no lane');
    const notices = await loadNotices(first.client);
    try {
      const interrupted = await readAndWrite(input, options, notices, encoder, lanes, tally);
      for (const lane of lanes) await lane.writer.finish();
      if (interrupted !== undefined) {
        failure = `interrupted after line ${interrupted}: the rest of the file was not read (running the file again is safe)`;
      }
    } catch (err) {
      await Promise.all(lanes.map((lane) => lane.pipeline.drain().catch(() => undefined)));
      input.destroy();
      throw err;
    }
  } catch (err) {
    failure = describeFailure(err);
    // A file that cannot be read as meant (a bad CSV header) fails before anything is written: it is
    // thrown to the caller once the start's audit entry has its end. Any other failure leaves a
    // connection in an unknown state (mid-transaction, mid-COPY), not given back to the pool.
    if (err instanceof ImportFileError) fileError = err;
    else broken = true;
  } finally {
    for (const lane of lanes) {
      lane.client.off('error', ignoreIdleError);
      lane.client.release(broken);
    }
  }

  const seconds = (performance.now() - tally.started) / 1000;
  const summary: ImportSummary = {
    importId,
    source: options.source,
    format: options.format,
    dryRun,
    status: failure === undefined ? 'completed' : 'failed',
    ...(failure === undefined ? {} : { failure }),
    rows: { ...tally.rows },
    counts: tally.counts,
    seconds,
    rowsPerSecond: seconds > 0 ? tally.rows.read / seconds : 0,
    // Batches finish while later rows are being read: put the problems kept back in file order.
    problems: tally.problems.sort((a, b) => a.line - b.line),
    problemsNotShown: tally.problemsNotShown,
  };
  tally.progress();
  if (fileError !== undefined) {
    if (!dryRun) await recordImport(deps.db, options.actor, summary).catch(() => undefined);
    throw fileError;
  }
  if (dryRun) return summary;
  try {
    await recordImport(deps.db, options.actor, summary);
    return summary;
  } catch (err) {
    return {
      ...summary,
      status: 'failed',
      failure: `${summary.failure ?? 'the rows were written'}; the audit entry was not: ${describeFailure(err)}`,
    };
  }
}

/** The audit entry of an import's start: who, which source (base name, size), which format. */
async function recordImportStart(db: Db, options: ImportOptions, importId: string): Promise<void> {
  await audit(db, {
    actor: options.actor,
    action: 'recipient.import_start',
    subjectType: 'import',
    subjectId: importId,
    details: {
      source: options.source,
      format: options.format,
      ...(options.sourceBytes === undefined ? {} : { bytes: options.sourceBytes }),
    },
  });
}

/** The audit entry of an import's end: who, what source, how many, how it ended. No personal data. */
async function recordImport(db: Db, actor: Actor, summary: ImportSummary): Promise<void> {
  await audit(db, {
    actor,
    action: 'recipient.import',
    subjectType: 'import',
    subjectId: summary.importId,
    details: {
      source: summary.source,
      format: summary.format,
      status: summary.status,
      ...(summary.failure === undefined ? {} : { failure: summary.failure }),
      rows: summary.rows,
      counts: { ...summary.counts },
      seconds: Math.round(summary.seconds * 10) / 10,
    },
  });
}
