import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ImportSummary } from '../../../src/import/importer.js';
import { runConsentcast } from '../../support/cli.js';
import { NOTICE_VERSION, seedNotice } from '../../support/fixtures.js';
import { exampleEnv } from '../../support/service-env.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';

const CLI_TIMEOUT = 120_000;

/** n people with three consents each; every `badEvery`-th row has an invalid e-mail address. */
function generate(n: number, badEvery = 0, offset = 0): string {
  const lines: string[] = [];
  for (let i = 1; i <= n; i++) {
    const id = i + offset;
    const bad = badEvery > 0 && i % badEvery === 0;
    lines.push(
      JSON.stringify({
        client_number: `CLI-${id}`,
        first_name: 'Anna',
        email: bad ? `anna-${id}-at-example.lv` : `anna.${id}@example.lv`,
        consents: [
          {
            purpose: 'service_offers',
            channel: 'email',
            status: 'granted',
            occurred_at: '2024-01-01T00:00:00Z',
            notice_version: NOTICE_VERSION,
          },
          {
            purpose: 'contests',
            channel: 'sms',
            status: 'granted',
            occurred_at: '2024-01-01T00:00:00Z',
            notice_version: NOTICE_VERSION,
          },
          { purpose: 'feedback', channel: 'push', status: 'withdrawn', occurred_at: '2024-01-02T00:00:00Z' },
        ],
      }),
    );
  }
  return `${lines.join('\n')}\n`;
}

describe('consentcast import, as a real process', () => {
  let t: TestDatabase;
  let dir: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    t = await createTestDatabase();
    await seedNotice(t.db);
    dir = mkdtempSync(join(tmpdir(), 'cc-import-'));
    env = {
      ...exampleEnv(),
      DATABASE_URL: t.appUrl,
      REDIS_URL: inject('services').redisUrl,
      LOG_LEVEL: 'warn',
    };
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await t.drop();
  });

  it('when some rows are invalid, then it shows progress, prints a summary naming them, and exits 1', async () => {
    const file = join(dir, 'people.ndjson');
    writeFileSync(file, generate(3_000, 1_000));
    const errors = join(dir, 'errors.ndjson');
    const started = Date.now();
    const result = await runConsentcast(
      ['import', file, '--batch', '500', '--actor', 'ci-operator', '--errors', errors],
      env,
      CLI_TIMEOUT,
    );
    const seconds = (Date.now() - started) / 1000;
    expect(result.code, result.stderr).toBe(1);
    const progress = result.stderr.split('\n').filter((l) => l.startsWith('import: '));
    expect(progress.at(-1)).toMatch(/^import: 3,000 rows read, 2,997 imported, 3 rejected, [\d,]+ rows\/s$/);
    // Not a log line per batch: at most one a second (plus the final state) when not on a terminal.
    expect(progress.length).toBeLessThanOrEqual(Math.ceil(seconds) + 1);
    expect(result.stdout).toMatch(/import done in [\d.]+ s: 3,000 rows read, 2,997 imported, 3 rejected/);
    expect(result.stdout).toContain('  people: 2,997 created, 0 updated');
    expect(result.stdout).toContain('  consent events: 8,991 recorded');
    expect(result.stdout).toContain('    line 1000: email: is not an e-mail address');
    expect(result.stdout + result.stderr).not.toMatch(/anna-1000-at-example\.lv|anna\.\d+@example\.lv/);
    expect(
      readFileSync(errors, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual([
      { line: 1000, field: 'email', message: 'is not an e-mail address' },
      { line: 2000, field: 'email', message: 'is not an e-mail address' },
      { line: 3000, field: 'email', message: 'is not an e-mail address' },
    ]);
    const people = await t.db
      .selectFrom('recipients')
      .select('id')
      .where('client_number', 'like', 'CLI-%')
      .execute();
    expect(people).toHaveLength(2_997);
    const audit = await t.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'recipient.import')
      .execute();
    expect(audit.map((a) => [a.actor_id, a.subject_id])).toEqual([['ci-operator', expect.any(String)]]);
    const start = await t.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'recipient.import_start')
      .execute();
    // The start names the file by base name and size, never by path.
    expect(start.map((a) => [a.actor_id, a.subject_id, a.details])).toEqual([
      [
        'ci-operator',
        audit[0]?.subject_id,
        { source: basename(file), format: 'ndjson', bytes: statSync(file).size },
      ],
    ]);
  });

  it('when every row is valid, then --json prints one summary document and it exits 0', async () => {
    const file = join(dir, 'valid.ndjson');
    writeFileSync(file, generate(200, 0, 10_000));
    const result = await runConsentcast(
      ['import', file, '--json', '--actor', 'ci-operator'],
      env,
      CLI_TIMEOUT,
    );
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as ImportSummary;
    expect(summary).toMatchObject({
      source: 'valid.ndjson',
      status: 'completed',
      rows: { read: 200, imported: 200, rejected: 0 },
      counts: { peopleCreated: 200, consentEventsRecorded: 600 },
      problems: [],
    });
  });

  it('when run again on the same file, then nothing is created twice and it still exits 0', async () => {
    const file = join(dir, 'valid.ndjson');
    const result = await runConsentcast(
      ['import', file, '--json', '--actor', 'ci-operator'],
      env,
      CLI_TIMEOUT,
    );
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as ImportSummary;
    expect(summary.counts).toMatchObject({
      peopleCreated: 0,
      peopleUpdated: 0,
      consentEventsRecorded: 0,
      consentEventsDuplicate: 600,
    });
  });

  it('when --dry-run is given, then it reports and writes nothing', async () => {
    const file = join(dir, 'dry.ndjson');
    writeFileSync(file, generate(50, 0, 20_000));
    const result = await runConsentcast(
      ['import', file, '--dry-run', '--json', '--actor', 'ci-operator'],
      env,
      CLI_TIMEOUT,
    );
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      dryRun: true,
      rows: { imported: 50 },
      counts: { peopleCreated: 50 },
    });
    const people = await t.db
      .selectFrom('recipients')
      .select('id')
      .where('client_number', 'like', 'CLI-2____')
      .execute();
    expect(people).toEqual([]);
  });

  it('when the usage, the file or the CSV header is wrong, then it says so and exits 2', async () => {
    const noFile = await runConsentcast(['import', join(dir, 'missing.ndjson')], env, CLI_TIMEOUT);
    expect(noFile.code).toBe(2);
    expect(noFile.stderr).toMatch(/cannot read/);

    const noFormat = await runConsentcast(['import', '-'], env, CLI_TIMEOUT);
    expect(noFormat.code).toBe(2);
    expect(noFormat.stderr).toMatch(/standard input needs --format/);

    const csv = join(dir, 'bad-header.csv');
    writeFileSync(csv, 'client_number,nickname\nC1,x\n');
    const badHeader = await runConsentcast(['import', csv], env, CLI_TIMEOUT);
    expect(badHeader.code).toBe(2);
    expect(badHeader.stderr).toMatch(/column "nickname" is not known/);
    // The attempt is on record: its start, and its end saying why nothing was written.
    const attempt = await t.db
      .selectFrom('audit_log')
      .select(['action', 'details'])
      .where('details', '@>', JSON.stringify({ source: 'bad-header.csv' }))
      .orderBy('id')
      .execute();
    expect(attempt.map((a) => a.action)).toEqual(['recipient.import_start', 'recipient.import']);
    expect(attempt[1]?.details).toMatchObject({ status: 'failed', rows: { imported: 0 } });

    const noConfig = await runConsentcast(['import', csv], { DATABASE_URL: t.appUrl }, CLI_TIMEOUT);
    expect(noConfig.code).toBe(2);
  });
});
