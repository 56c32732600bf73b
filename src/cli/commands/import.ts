import { createReadStream, createWriteStream, openSync, type WriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { basename, extname } from 'node:path';
import type { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { formatProblems, loadConfig } from '../../config/config.js';
import { buildDeps, closeDeps } from '../../deps.js';
import { ImportFileError } from '../../import/import-file-error.js';
import { IMPORT_FORMATS, type ImportFormat } from '../../import/import-row.js';
import { DEFAULT_BATCH_SIZE, DEFAULT_PARALLEL, importPeople } from '../../import/importer.js';
import { createProgressPrinter, formatSummary } from '../../import/progress.js';
import { createLogger } from '../../logging/logger.js';
import { parseArgsProblem } from '../arguments.js';
import type { Command } from '../command.js';
import { EXIT } from '../exit-codes.js';
import { IMPORT_HEAP_GROWING_PERCENT, limitHeapGrowth } from '../heap-growth.js';
import { UsageError } from '../usage-error.js';

export interface ImportArgs {
  readonly file: string;
  readonly format: ImportFormat;
  readonly dryRun: boolean;
  readonly actor: string;
  readonly batchSize: number;
  readonly parallel: number;
  readonly errorsFile?: string;
}

/** Options and the file; a usage problem throws (util.parseArgs), parseImportArgs turns it into text. */
function parseOptions(args: readonly string[]) {
  return parseArgs({
    args: [...args],
    options: {
      format: { type: 'string' },
      'dry-run': { type: 'boolean' },
      actor: { type: 'string' },
      batch: { type: 'string' },
      parallel: { type: 'string' },
      errors: { type: 'string' },
    },
    allowPositionals: true,
    strict: true,
  });
}

const ACTOR = /^[A-Za-z0-9._@-]{1,100}$/;
const MAX_BATCH = 100_000;
const MAX_PARALLEL = 8;

function formatFromName(file: string): ImportFormat | undefined {
  const ext = extname(file).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.ndjson' || ext === '.jsonl') return 'ndjson';
  return undefined;
}

function defaultActor(env: Readonly<Record<string, string | undefined>>): string {
  try {
    return userInfo().username;
  } catch {
    return env.USER ?? 'operator';
  }
}

/** Parses the arguments after `import`; a string is the usage problem. */
export function parseImportArgs(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>> = {},
): ImportArgs | string {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(args);
  } catch (err) {
    const problem = parseArgsProblem(err);
    if (problem === undefined) throw err;
    return problem;
  }
  const { values, positionals } = parsed;
  const { format, actor, batch, parallel, errors: errorsFile } = values;
  const dryRun = values['dry-run'] ?? false;
  if (positionals.length > 1) return 'give one file (or - for standard input)';
  const file = positionals[0];
  if (file === undefined) return 'which file? (- reads standard input)';
  const chosen = format ?? (file === '-' ? undefined : formatFromName(file));
  if (chosen === undefined) {
    return file === '-'
      ? 'standard input needs --format ndjson or --format csv'
      : 'cannot tell the format from the file name: pass --format ndjson or --format csv';
  }
  if (!(IMPORT_FORMATS as readonly string[]).includes(chosen)) return '--format must be ndjson or csv';
  const batchSize = batch === undefined ? DEFAULT_BATCH_SIZE : Number(batch);
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH) {
    return `--batch must be a whole number from 1 to ${MAX_BATCH}`;
  }
  const lanes = parallel === undefined ? DEFAULT_PARALLEL : Number(parallel);
  if (!Number.isInteger(lanes) || lanes < 1 || lanes > MAX_PARALLEL) {
    return `--parallel must be a whole number from 1 to ${MAX_PARALLEL}`;
  }
  const who = actor ?? defaultActor(env);
  if (!ACTOR.test(who)) return '--actor must be 1-100 letters, digits, . _ @ or -';
  if (errorsFile === '') return '--errors needs a file name';
  return {
    file,
    format: chosen as ImportFormat,
    dryRun,
    actor: who,
    batchSize,
    parallel: lanes,
    ...(errorsFile === undefined ? {} : { errorsFile }),
  };
}

async function openInput(file: string): Promise<{ stream: Readable; bytes?: number } | string> {
  if (file === '-') return { stream: process.stdin };
  let bytes: number;
  try {
    const info = await stat(file);
    if (!info.isFile()) return `${file} is not a file`;
    bytes = info.size;
  } catch {
    return `cannot read ${file}`;
  }
  // The default 64 KiB chunks: larger ones made no difference to speed and cost RSS (docs/import.md).
  return { stream: createReadStream(file), bytes };
}

function closeStream(stream: WriteStream | undefined): Promise<void> {
  return new Promise((resolve) => (stream === undefined ? resolve() : stream.end(() => resolve())));
}

/**
 * `consentcast import`: people with their devices and consents, from NDJSON or CSV (docs/import.md).
 * Progress goes to stderr; the summary to stdout (one JSON document with --json). Exit 0 when every
 * row was imported, 1 when some were rejected or the import stopped, 2 on bad usage, configuration
 * or file.
 */
export const importCommand: Command = {
  name: 'import',
  usage:
    'import <file|-> [--format ndjson|csv] [--dry-run] [--actor NAME] [--batch N] [--parallel N] [--errors FILE]\n      import people with devices and consents, NDJSON or CSV, streamed (docs/import.md)',
  async run(rawArgs, env, out) {
    const args = parseImportArgs(rawArgs, env);
    if (typeof args === 'string') throw new UsageError(args);
    const loaded = loadConfig(env);
    if (!loaded.ok) {
      out.error(formatProblems(loaded.problems));
      return EXIT.usage;
    }
    // The import is this process's only work: keep its heap near what it holds (heap-growth.ts).
    limitHeapGrowth(IMPORT_HEAP_GROWING_PERCENT);
    const input = await openInput(args.file);
    if (typeof input === 'string') {
      out.error(`import: ${input}`);
      return EXIT.usage;
    }
    let errors: WriteStream | undefined;
    if (args.errorsFile !== undefined) {
      try {
        errors = createWriteStream('', { fd: openSync(args.errorsFile, 'w') });
      } catch {
        out.error(`import: cannot write ${args.errorsFile}`);
        return EXIT.usage;
      }
    }
    const deps = buildDeps(loaded.config, {
      role: 'import',
      // stdout carries the summary only (a JSON document with --json): logs go to stderr.
      logger: createLogger({ level: loaded.config.logLevel, name: 'import', destination: process.stderr }),
    });
    const printer = createProgressPrinter(process.stderr);
    // A first Ctrl-C or SIGTERM stops reading and writes what was read (and the audit entry); a
    // second one ends the process at once (the batch in flight rolls back).
    const stop = new AbortController();
    const onSignal = (): void => {
      out.error('import: stopping after the rows read so far (again to quit at once)');
      stop.abort();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      const summary = await importPeople(
        { pool: deps.pool, db: deps.db, pseudonymSecret: loaded.config.pseudonymSecret },
        input.stream,
        {
          format: args.format,
          actor: { type: 'operator', id: args.actor },
          source: args.file === '-' ? 'stdin' : basename(args.file),
          ...(input.bytes === undefined ? {} : { sourceBytes: input.bytes }),
          batchSize: args.batchSize,
          parallel: args.parallel,
          dryRun: args.dryRun,
          signal: stop.signal,
          onProgress: (p) => printer.update(p),
          ...(errors === undefined ? {} : { onProblem: (p) => errors.write(`${JSON.stringify(p)}\n`) }),
        },
      );
      printer.done({ ...summary.rows, elapsedMs: summary.seconds * 1000 });
      for (const line of formatSummary(summary)) out.line(line);
      out.result(summary);
      if (summary.status === 'failed') out.error(`import: stopped: ${summary.failure ?? 'unknown reason'}`);
      return summary.status === 'completed' && summary.rows.rejected === 0 ? EXIT.ok : EXIT.failure;
    } catch (err) {
      if (err instanceof ImportFileError) {
        out.error(`import: ${err.message}`);
        return EXIT.usage;
      }
      out.error(`import: could not start: ${err instanceof Error ? err.message : String(err)}`);
      return EXIT.failure;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await closeStream(errors);
      await closeDeps(deps);
    }
  },
};
