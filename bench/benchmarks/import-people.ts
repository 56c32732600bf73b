import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { keyedHash, sha256Hex } from '../../src/crypto/pseudonym.js';
import { copyLine } from '../../src/import/copy-text.js';
import type { ImportSummary } from '../../src/import/importer.js';
import { readNdjson } from '../../src/import/ndjson-reader.js';
import { buildCli, runCompiledCli } from '../lib/cli-process.js';
import {
  cloneDatabase,
  createMigratedDatabase,
  databaseUrl,
  dropDatabase,
  dropRunDatabases,
  queryScalar,
} from '../lib/database.js';
import { syntheticRecipient } from '../lib/synthetic-recipients.js';
import type { Benchmark, Variant, VariantContext, VariantOutcome } from '../lib/types.js';

/**
 * `consentcast import` of N people with three consents each from one NDJSON file (issue 3), against
 * two baselines, each a benchmark of its own (the harness divides by one baseline):
 *
 * - `import-people`: the bare minimum the same file needs: each line parsed and its person and
 *   consent rows COPYed into plain tables (no keys, indexes, checks or triggers) on two connections
 *   at once. It measures the importer together with the schema it writes into.
 * - `import-people-schema`: a bare COPY of the same rows into the real tables: each line parsed, its
 *   keyed hashes made, and its person, consent event and consent state rows COPYed into recipients,
 *   consent_events and consents. It pays every index, CHECK and foreign key the importer pays, and
 *   does none of its work for correctness (validation, per-row errors, upserts, tombstones,
 *   out-of-order folding, locks, audit): the ratio is the importer's own overhead.
 *
 * The importer subjects run `consentcast import` as production does: the compiled command
 * (`node dist/workers/consentcast.js`, built in setup) in a process of its own, whose own time and
 * peak RSS are reported (not this child's, which runs under the tsx loader and only waits).
 * A second subject runs the importer on two connections (`--parallel 2`); `import-people` has a third
 * with every trigger of consent_events and consents disabled, foreign keys included, to show what the
 * ledger's per-row checks cost together (diagnostics: never run the product like that). Every slot
 * has a fresh copy of the migrated database; the file is written once, before any timing.
 */

const NOTICE = { version: 'bench-1', body: 'Benchmark privacy notice (not shown to anyone)' };
const PSEUDONYM_SECRET = 'bench-pseudonym-secret-0123456789-abcdef';
const CONSENTS = [
  ['service_offers', 'email', 'granted'],
  ['partner_offers', 'sms', 'granted'],
  ['contests', 'push', 'withdrawn'],
] as const;

type Setup = { template: string; dir: string; file: string };
/** The slot's database; for the schema baseline also the first ids its rows will get. */
type Prepared = { database: string; firstRecipientId?: number; firstEventId?: number };
type Ctx = VariantContext<Setup, Prepared>;

function snakeCase(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** Line i of the file: the harness's synthetic person i (attribute names in the import's snake_case). */
function personLine(i: number): string {
  const { client_number, first_name, last_name, email, phone, locale, time_zone, attributes } =
    syntheticRecipient(i);
  const person = { client_number, first_name, last_name, email, phone, locale, time_zone };
  const attrs = Object.fromEntries(
    Object.entries(JSON.parse(attributes) as Record<string, unknown>).map(([k, v]) => [snakeCase(k), v]),
  );
  const day = String(1 + (i % 28)).padStart(2, '0');
  return JSON.stringify({
    ...person,
    attributes: attrs,
    consents: CONSENTS.map(([purpose, channel, status]) => ({
      purpose,
      channel,
      status,
      occurred_at: `2024-03-${day}T12:00:00Z`,
      ...(status === 'granted' ? { notice_version: NOTICE.version } : {}),
    })),
  });
}

async function writeFile(file: string, size: number): Promise<void> {
  const out = createWriteStream(file, { highWaterMark: 1024 * 1024 });
  let chunk = '';
  for (let i = 0; i < size; i++) {
    chunk += `${personLine(i)}\n`;
    if (chunk.length > 512 * 1024) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
}

async function asOwner(
  ctx: Ctx | { services: Ctx['services'] },
  database: string,
  text: string,
): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl(ctx.services.ownerUrl, database) });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

/** A COPY stream on its own connection, written with backpressure. */
async function openCopy(url: string, text: string): Promise<{ stream: Writable; close(): Promise<void> }> {
  const client = new pg.Client({ connectionString: url, application_name: 'consentcast-bench-copy' });
  await client.connect();
  const stream = client.query(copyFrom(text));
  const done = once(stream, 'finish');
  return {
    stream,
    async close() {
      stream.end();
      await done;
      await client.end();
    },
  };
}

async function write(stream: Writable, text: string): Promise<void> {
  if (!stream.write(text)) await once(stream, 'drain');
}

/** Baseline: parse each line, COPY its person and consents into plain tables, nothing else. */
async function bareCopy(ctx: Ctx): Promise<VariantOutcome> {
  const url = databaseUrl(ctx.services.appUrl, ctx.prepared.database);
  const people = await openCopy(
    url,
    'COPY plain_people (client_number, first_name, last_name, email, phone, locale, time_zone, attributes) FROM STDIN',
  );
  const consents = await openCopy(
    url,
    'COPY plain_consents (client_number, purpose, channel, status, occurred_at, notice_version) FROM STDIN',
  );
  let rows = 0;
  for await (const items of readNdjson(createReadStream(ctx.setup.file))) {
    let p = '';
    let c = '';
    for (const item of items) {
      if (!('value' in item)) continue;
      const r = item.value as Record<string, unknown> & { consents: Record<string, string>[] };
      p += copyLine([
        String(r.client_number),
        String(r.first_name),
        String(r.last_name),
        String(r.email),
        String(r.phone),
        String(r.locale),
        String(r.time_zone),
        JSON.stringify(r.attributes),
      ]);
      for (const x of r.consents) {
        c += copyLine([
          String(r.client_number),
          x.purpose ?? null,
          x.channel ?? null,
          x.status ?? null,
          x.occurred_at ?? null,
          x.notice_version ?? null,
        ]);
      }
      rows += 1;
    }
    await Promise.all([write(people.stream, p), write(consents.stream, c)]);
  }
  await Promise.all([people.close(), consents.close()]);
  return { operations: rows };
}

/** The batch of the schema baseline: the importer's default, so both commit as often. */
const SCHEMA_BATCH = 2_000;

/** The next value an identity column's sequence will give (read as the owner before the timing). */
async function nextId(ctx: { services: Ctx['services'] }, database: string, table: string): Promise<number> {
  const value = await queryScalar(
    ctx.services,
    database,
    `SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END
     FROM ${table}_id_seq`,
  );
  return Number(value);
}

/**
 * Baseline of `import-people-schema`: a bare COPY of the same rows into the real tables, one
 * connection, three COPYs per batch (people, then their consent events, then the current states,
 * so that each foreign key finds what it points at committed). Identity columns cannot be given in a
 * COPY, so the ids the rows will get are counted from the sequences, which nothing else draws from
 * in this slot's database.
 */
async function bareCopySchema(ctx: Ctx): Promise<VariantOutcome> {
  const { firstRecipientId, firstEventId } = ctx.prepared;
  if (firstRecipientId === undefined || firstEventId === undefined) throw new Error('ids were not prepared');
  const client = new pg.Client({
    connectionString: databaseUrl(ctx.services.appUrl, ctx.prepared.database),
    application_name: 'consentcast-bench-copy-schema',
  });
  await client.connect();
  const noticeSha = sha256Hex(NOTICE.body);
  const actorHash = keyedHash(PSEUDONYM_SECRET, 'actor', 'operator:bench');
  const requestId = `bench-${ctx.runId}`;
  const copy = async (text: string, rows: string) => {
    const stream = client.query(copyFrom(text));
    const done = once(stream, 'finish');
    stream.end(rows);
    await done;
  };
  let rows = 0;
  let people = '';
  let events = '';
  let states = '';
  let batched = 0;
  const flush = async () => {
    if (batched === 0) return;
    await copy(
      'COPY recipients (client_number, first_name, last_name, email, phone, locale, time_zone, attributes, email_hash, phone_hash) FROM STDIN',
      people,
    );
    await copy(
      'COPY consent_events (recipient_id, purpose, channel, action, source, actor_hash, notice_version, notice_sha256, request_id, reason, occurred_at) FROM STDIN',
      events,
    );
    await copy(
      'COPY consents (recipient_id, purpose, channel, status, source, occurred_at, event_id, notice_version) FROM STDIN',
      states,
    );
    people = '';
    events = '';
    states = '';
    batched = 0;
  };
  try {
    let eventId = firstEventId;
    for await (const items of readNdjson(createReadStream(ctx.setup.file))) {
      for (const item of items) {
        if (!('value' in item)) continue;
        const r = item.value as Record<string, unknown> & { consents: Record<string, string>[] };
        const recipientId = String(firstRecipientId + rows);
        const email = String(r.email);
        const phone = String(r.phone);
        people += copyLine([
          String(r.client_number),
          String(r.first_name),
          String(r.last_name),
          email,
          phone,
          String(r.locale),
          String(r.time_zone),
          JSON.stringify(r.attributes),
          keyedHash(PSEUDONYM_SECRET, 'email', email),
          keyedHash(PSEUDONYM_SECRET, 'phone', phone),
        ]);
        for (const x of r.consents) {
          const granted = x.status === 'granted';
          const notice = x.notice_version ?? null;
          events += copyLine([
            recipientId,
            x.purpose ?? null,
            x.channel ?? null,
            granted ? 'grant' : 'withdraw',
            'import',
            actorHash,
            notice,
            granted ? noticeSha : null,
            requestId,
            granted ? null : 'import',
            x.occurred_at ?? null,
          ]);
          states += copyLine([
            recipientId,
            x.purpose ?? null,
            x.channel ?? null,
            granted ? 'granted' : 'withdrawn',
            'import',
            x.occurred_at ?? null,
            String(eventId),
            notice,
          ]);
          eventId += 1;
        }
        rows += 1;
        batched += 1;
        if (batched === SCHEMA_BATCH) await flush();
      }
    }
    await flush();
  } finally {
    await client.end();
  }
  return { operations: rows };
}

/** Subject: `consentcast import` as production runs it (compiled, app role, default batch size). */
async function importer(ctx: Ctx): Promise<VariantOutcome> {
  return runImporter(ctx, 1);
}

/** Subject: the same on two connections (`consentcast import --parallel 2`). */
async function importerParallel(ctx: Ctx): Promise<VariantOutcome> {
  return runImporter(ctx, 2);
}

/**
 * Runs `node dist/workers/consentcast.js import FILE --json` (built in setup) against the slot's
 * database and reports the command's own time and memory: what an operator's import costs, without
 * the tsx loader of this child.
 */
async function runImporter(ctx: Ctx, parallel: number): Promise<VariantOutcome> {
  const args = ['import', ctx.setup.file, '--actor', 'bench', '--json'];
  if (parallel > 1) args.push('--parallel', String(parallel));
  const run = await runCompiledCli(
    args,
    {
      DATABASE_URL: databaseUrl(ctx.services.appUrl, ctx.prepared.database),
      REDIS_URL: ctx.services.redisUrl,
      PSEUDONYM_SECRET,
      LOG_LEVEL: 'warn',
    },
    ctx.setup.dir,
    join(ctx.setup.dir, `rss-${ctx.slot.index}.json`),
  );
  const summary = JSON.parse(run.stdout) as Pick<
    ImportSummary,
    'status' | 'failure' | 'rows' | 'seconds' | 'problems'
  >;
  if (run.code !== 0 || summary.status !== 'completed' || summary.rows.rejected > 0) {
    throw new Error(
      `import exited ${run.code}, ${summary.status}: ${summary.failure ?? JSON.stringify(summary.problems.slice(0, 3))}`,
    );
  }
  return {
    operations: summary.rows.imported,
    process: {
      seconds: summary.seconds,
      cpuSeconds: run.cpuSeconds,
      rssStartBytes: run.rssStartBytes,
      rssPeakBytes: run.rssPeakBytes,
    },
  };
}

async function count(ctx: Ctx, table: string): Promise<number> {
  return Number(await queryScalar(ctx.services, ctx.prepared.database, `SELECT count(*) FROM ${table}`));
}

const importer1: Variant<Setup, Prepared> = {
  name: 'importer',
  role: 'subject',
  description:
    'node dist/workers/consentcast.js import: validate, COPY to staging, set-based upserts, ledger, one tx per batch',
  run: importer,
};
const importer2: Variant<Setup, Prepared> = {
  name: 'importer-parallel-2',
  role: 'subject',
  description: 'the same on two connections (--parallel 2)',
  run: importerParallel,
};

/** Setup, slots and checks common to both benchmarks; each adds its name and variants. */
const common: Omit<Benchmark<Setup, Prepared>, 'name' | 'description' | 'variants'> = {
  defaultSize: 100_000,

  async setup(ctx) {
    await buildCli();
    const template = await createMigratedDatabase(ctx, 'template');
    await asOwner(
      ctx,
      template.name,
      `INSERT INTO notices (version, locale, effective_from, body, text_sha256)
       VALUES ('${NOTICE.version}', 'lv', '2022-03-01', '${NOTICE.body}', '${sha256Hex(NOTICE.body)}')`,
    );
    const dir = join(tmpdir(), `cc_bench_${ctx.runId}`);
    await mkdir(dir, { recursive: true });
    const file = join(dir, 'people.ndjson');
    const started = Date.now();
    await writeFile(file, ctx.size);
    console.error(
      `bench: wrote ${ctx.size} people to ${file} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    return { template: template.name, dir, file };
  },

  async beforeEach(ctx) {
    const copy = await cloneDatabase(ctx, ctx.setup.template, `slot${ctx.slot.index}`);
    if (ctx.slot.variant === 'bare-copy') {
      await asOwner(
        ctx,
        copy.name,
        `CREATE TABLE plain_people (client_number text, first_name text, last_name text, email text, phone text,
                                    locale text, time_zone text, attributes jsonb);
         CREATE TABLE plain_consents (client_number text, purpose text, channel text, status text,
                                      occurred_at timestamptz, notice_version text);
         GRANT INSERT ON plain_people, plain_consents TO consentcast_app`,
      );
    }
    if (ctx.slot.variant === 'importer-no-checks') {
      // Foreign keys are internal triggers: only a superuser may switch them off.
      const admin = new pg.Client({ connectionString: databaseUrl(ctx.services.adminUrl, copy.name) });
      await admin.connect();
      try {
        await admin.query(
          'ALTER TABLE consent_events DISABLE TRIGGER ALL; ALTER TABLE consents DISABLE TRIGGER ALL',
        );
      } finally {
        await admin.end();
      }
    }
    if (ctx.slot.variant === 'bare-copy-schema') {
      return {
        database: copy.name,
        firstRecipientId: await nextId(ctx, copy.name, 'recipients'),
        firstEventId: await nextId(ctx, copy.name, 'consent_events'),
      };
    }
    return { database: copy.name };
  },

  async afterEach(ctx) {
    try {
      const plain = ctx.slot.variant === 'bare-copy';
      const people = await count(ctx, plain ? 'plain_people' : 'recipients');
      const consents = await count(ctx, plain ? 'plain_consents' : 'consents');
      if (people !== ctx.size || consents !== ctx.size * CONSENTS.length) {
        throw new Error(
          `${ctx.slot.variant} left ${people} people and ${consents} consents, expected ${ctx.size}`,
        );
      }
      if (!plain) {
        // each state points at its own person's event for the same purpose and channel
        const linked = await count(
          ctx,
          `consents c JOIN consent_events e ON e.id = c.event_id AND e.recipient_id = c.recipient_id
             AND e.purpose = c.purpose AND e.channel = c.channel`,
        );
        if (linked !== consents)
          throw new Error(`${ctx.slot.variant}: ${consents - linked} consents point astray`);
      }
    } finally {
      await dropDatabase(ctx.services, ctx.prepared.database);
    }
  },

  async teardown(ctx, setup) {
    await dropRunDatabases(ctx);
    await rm(setup?.dir ?? join(tmpdir(), `cc_bench_${ctx.runId}`), { recursive: true, force: true });
  },
};

export const benchmark: Benchmark<Setup, Prepared> = {
  ...common,
  name: 'import-people',
  description:
    'import N people with 3 consents each from NDJSON: consentcast import vs a bare COPY into plain tables',
  variants: [
    {
      name: 'bare-copy',
      role: 'baseline',
      description: 'parse each line, COPY person and consent rows into plain tables (2 connections)',
      run: bareCopy,
    },
    importer1,
    importer2,
    {
      name: 'importer-no-checks',
      role: 'subject',
      description: 'the same with every trigger of the ledger disabled, foreign keys too (diagnostic only)',
      run: importer,
    },
  ],
};

export const schemaBenchmark: Benchmark<Setup, Prepared> = {
  ...common,
  name: 'import-people-schema',
  description:
    'import N people with 3 consents each from NDJSON: consentcast import vs a bare COPY of the rows into the real tables',
  variants: [
    {
      name: 'bare-copy-schema',
      role: 'baseline',
      description: 'parse, hash, COPY person, event and state rows into the real tables (1 connection)',
      run: bareCopySchema,
    },
    importer1,
    importer2,
  ],
};
