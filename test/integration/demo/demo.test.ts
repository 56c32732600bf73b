import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../support/process.js';
import { exampleEnv, ROOT } from '../../support/service-env.js';
import { testRedisPrefix } from '../../support/test-redis.js';

/**
 * README command (1)'s driver as a real process, at a small size: it runs the campaign, prints the
 * funnel and exits 0; run again on the same database and queues (a re-run must not trip over the
 * first one's data) with faults injected at the fakes, its self-check must fail (N13, never twice).
 */
const services = inject('services');
const database = `cc_test_f_${services.runPid}_demo${randomBytes(3).toString('hex')}`;
const redis = testRedisPrefix();
const dir = mkdtempSync(join(tmpdir(), 'cc-demo-'));

afterAll(async () => {
  const admin = new pg.Client({ connectionString: services.pgAdminUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
  await admin.end();
  await redis.clean();
  rmSync(dir, { recursive: true, force: true });
});

async function demo(extra: readonly string[]): Promise<{ code: number | null; output: string }> {
  const port = await freePort();
  const args = [
    '--import',
    'tsx',
    'scripts/demo/demo.ts',
    '--size',
    '300',
    '--withdrawals',
    '24',
    // slow enough that the withdrawals land while messages still wait in the queues
    '--rate',
    '40',
    '--http-port',
    String(port),
    '--database',
    database,
    '--queue-prefix',
    redis.prefix,
    '--dir',
    dir,
    ...extra,
  ];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      ...exampleEnv(),
      DATABASE_URL: services.appUrl,
      DATABASE_OWNER_URL: services.ownerUrl,
      PG_ADMIN_URL: services.pgAdminUrl,
      REDIS_URL: services.redisUrl,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  return { code, output };
}

describe('the demo (README command 1)', () => {
  it('runs a campaign on three channels, withdraws consents while it sends, checks the fakes and exits 0', async () => {
    const { code, output } = await demo([]);
    expect(output, output).toMatch(/^check: ok, from the fakes' delivery log/m);
    expect(code, output).toBe(0);
    expect(output).toMatch(/^funnel: 300 people considered/m);
    for (const row of [
      'excluded: no_consent',
      'queued (messages)',
      'sent',
      'delivered (at the fakes)',
      'failed',
    ]) {
      expect(output).toMatch(new RegExp(`^  ${row.replace(/[()]/g, '\\$&')}\\s+\\d`, 'm'));
    }
    // the withdrawals stopped queued messages: the claim's re-check skipped them
    expect(output).toMatch(/^ {2}skipped: consent_withdrawn\s+[\d,]+\s+[\d,]+\s+[\d,]+\s+[1-9]/m);
    // every role runs in one `consentcast all` process, which stopped cleanly on SIGTERM
    expect(output).toMatch(/^stopped: fakes ok, all ok;/m);
    // no addresses or numbers in what it prints
    expect(output).not.toMatch(/@example\.com|\+3712\d{7}/);
  }, 600_000);

  it('run again over the first run, with a duplicate and a send after a withdrawal injected at the fakes, fails its check', async () => {
    const { code, output } = await demo(['--inject', 'duplicate,after-withdrawal']);
    expect(output, output).toMatch(/^check: FAILED/m);
    expect(output).toMatch(/received after their withdrawal had committed \(1\)/);
    expect(output).toMatch(/the database never claimed it, after withdrawal event \d+ had committed/);
    expect(output).toMatch(/arrived twice \(or without a message of the run\) \(1\)/);
    expect(output).toMatch(/message \d+ \(email\) arrived 2 times/);
    expect(code).toBe(1);
  }, 600_000);
});
