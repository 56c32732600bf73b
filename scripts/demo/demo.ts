/**
 * README command (1), after scripts/demo.sh has set up the services: a real campaign, end to end, on
 * this machine (docs/demo.md). `node --import tsx scripts/demo/demo.ts [--size N] [--keep-running] …`
 *
 * Tooling, not product: it lives in scripts/ (not src/, which is built into the image and may not
 * import test code) because it starts the provider fakes of test/fakes and reads their delivery log.
 * Everything it does to the product it does through the product: the import command, the offers
 * and campaigns modules, the roles as processes, the HTTP API.
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { sql } from 'kysely';
import type { Actor } from '../../src/auth/actor.js';
import type { Funnel } from '../../src/campaigns/plan.js';
import { type Config, formatProblems, loadConfig } from '../../src/config/config.js';
import { buildDeps, closeDeps, type Deps } from '../../src/deps.js';
import type { Channel } from '../../src/domain/vocabulary.js';
import { createLogger } from '../../src/logging/logger.js';
import { createNotice } from '../../src/notices/notices.repository.js';
import { ALL_QUEUES, CAMPAIGN_RUNS_QUEUE, SEND_QUEUES } from '../../src/queue/names.js';
import { FakesClient } from '../../test/fakes/client.js';
import type { Delivery } from '../../test/fakes/delivery-log.js';
import type { FakePorts } from '../../test/fakes/fakes.js';
import { providerEnv } from '../../test/fakes/fakes.js';
import { audienceNdjson, DEMO_NOTICE_VERSION } from './audience.js';
import { approveAndStart, createDemoCampaign, DEMO_PURPOSE } from './campaign.js';
import { type DemoDatabase, recreateDemoDatabase, serverUrls } from './database.js';
import { configureFaults, injectFault } from './faults.js';
import { createDemoOffers } from './offers.js';
import { type DemoOptions, parseDemoArgs, USAGE } from './options.js';
import {
  type Child,
  DEMO_ROLES,
  type Env,
  ROOT,
  runCommand,
  startFakesProcess,
  startRole,
  stopAll,
  tail,
} from './processes.js';
import { createProgress, formatFunnel, statusCounts } from './report.js';
import { type CheckResult, checkDeliveries, contactKey, type EndedMessage } from './self-check.js';
import { type Withdrawal, withdrawWhileSending } from './withdrawals.js';

const AUTHOR: Actor = { type: 'operator', id: 'demo-marketer' };
const APPROVER: Actor = { type: 'operator', id: 'demo-approver' };
const say = (text: string): void => {
  process.stdout.write(`${text}\n`);
};
const fmt = (n: number): string => n.toLocaleString('en-US');
const seconds = (since: number): string => `${((Date.now() - since) / 1000).toFixed(1)} s`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A failure the demo explains in one line (no stack trace): exit 1. */
class DemoError extends Error {
  override readonly name = 'DemoError';
}

/**
 * The roles' configuration: the caller's, pointed at the demo's database, queues and fakes. Without
 * the owner's and the administrator's URLs: the demo migrates its database itself, and no role
 * needs them.
 */
function demoEnv(base: Env, db: DemoDatabase, options: DemoOptions, ports: FakePorts): Env {
  const rate = String(options.ratePerSecond);
  const { DATABASE_OWNER_URL: _owner, PG_ADMIN_URL: _admin, ...roleEnv } = base;
  return {
    ...roleEnv,
    DATABASE_URL: db.appUrl,
    QUEUE_PREFIX: options.queuePrefix,
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: String(options.httpPort),
    PUBLIC_BASE_URL: `http://127.0.0.1:${options.httpPort}`,
    ...providerEnv(ports),
    GOOGLE_APPLICATION_CREDENTIALS: '',
    DKIM_DOMAIN: '',
    DKIM_SELECTOR: '',
    DKIM_PRIVATE_KEY_FILE: '',
    RATE_LIMIT_EMAIL_PER_SECOND: rate,
    RATE_LIMIT_SMS_PER_SECOND: rate,
    // the fake Twilio sends whatever it accepts at once: its sender keeps up with any rate
    TWILIO_SENDER_MPS: rate,
    RATE_LIMIT_PUSH_PER_SECOND: rate,
    LOG_LEVEL: base.DEMO_LOG_LEVEL ?? 'warn',
  };
}

async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  children: readonly Child[],
  ms = 60_000,
) {
  const deadline = Date.now() + ms;
  for (;;) {
    const dead = children.find((c) => c.process.exitCode !== null);
    if (dead) throw new DemoError(`${dead.name} stopped (exit ${dead.process.exitCode}):\n${tail(dead)}`);
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new DemoError(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

async function importAudience(env: Env, size: number): Promise<void> {
  const started = Date.now();
  const result = await runCommand(
    ['import', '-', '--format', 'ndjson', '--actor', 'demo-import', '--json'],
    env,
    audienceNdjson(size),
  );
  if (result.code !== 0)
    throw new DemoError(`consentcast import failed (exit ${result.code}):\n${result.stderr}`);
  const summary = JSON.parse(result.stdout) as {
    rows: { imported: number; rejected: number };
    counts: { devicesAdded: number; consentEventsRecorded: number };
  };
  say(
    `audience: ${fmt(summary.rows.imported)} people imported (consentcast import) with ${fmt(summary.counts.devicesAdded)} devices and ${fmt(summary.counts.consentEventsRecorded)} consent events in ${seconds(started)}`,
  );
}

async function createApiKey(env: Env): Promise<string> {
  const result = await runCommand(
    [
      'api-key',
      'create',
      '--name',
      'demo app',
      '--scopes',
      'consents:read,consents:write',
      '--actor',
      'demo',
      '--json',
    ],
    env,
  );
  if (result.code !== 0) throw new DemoError(`consentcast api-key create failed:\n${result.stderr}`);
  return (JSON.parse(result.stdout) as { key: string }).key;
}

async function loadCheckInput(
  deps: Deps,
  runId: number,
  deliveryLog: string,
  withdrawals: readonly Withdrawal[],
) {
  const deliveries = readFileSync(deliveryLog, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Delivery);
  const { rows } = await sql<{
    id: number;
    recipient_id: number;
    channel: Channel;
    status: string;
    claimed_at: Date | null;
  }>`
    SELECT id, recipient_id, channel, status, claimed_at FROM messages WHERE run_id = ${runId}
  `.execute(deps.db);
  const messages: EndedMessage[] = rows.map((r) => ({
    id: Number(r.id),
    recipientId: Number(r.recipient_id),
    channel: r.channel,
    status: r.status,
    claimedAt: r.claimed_at,
  }));
  const people = [...new Set(withdrawals.map((w) => w.recipientId))];
  const contacts = new Map<string, number>();
  const { rows: found } = await sql<{ id: number; email: string | null; phone: string | null }>`
    SELECT id, email, phone FROM recipients WHERE id = ANY(${people}::bigint[])
  `.execute(deps.db);
  for (const r of found) {
    if (r.email !== null) contacts.set(contactKey('email', r.email), Number(r.id));
    if (r.phone !== null) contacts.set(contactKey('sms', r.phone), Number(r.id));
  }
  const { rows: tokens } = await sql<{ recipient_id: number; token: string }>`
    SELECT recipient_id, token FROM devices WHERE recipient_id = ANY(${people}::bigint[])
  `.execute(deps.db);
  for (const t of tokens) contacts.set(contactKey('push', t.token), Number(t.recipient_id));
  return { deliveries, messages, withdrawals, contacts };
}

function explain(result: CheckResult): string[] {
  const lines: string[] = [];
  const section = (title: string, items: readonly string[]) => {
    if (items.length === 0) return;
    lines.push(`  ${title} (${fmt(items.length)}):`);
    for (const item of items.slice(0, 10)) lines.push(`    - ${item}`);
    if (items.length > 10) lines.push(`    … and ${fmt(items.length - 10)} more`);
  };
  section('received after their withdrawal had committed', result.afterWithdrawal);
  section('arrived twice (or without a message of the run)', result.duplicates);
  section('the fakes and the messages table disagree', result.mismatches);
  return lines;
}

/**
 * Whether a page is there, asked with the demo's key (scope consents:*). The API fails closed: a
 * route it does not know answers 403 "lacks the scope (none declared)" to a valid key, a route that
 * wants another key 401/403 with its scope.
 */
async function probe(url: string, key: string): Promise<string> {
  try {
    const response = await fetch(url, {
      headers: { authorization: `Bearer ${key}` },
      signal: AbortSignal.timeout(3_000),
    });
    if (response.ok) return '';
    const body = await response.text();
    if (response.status === 404 || body.includes('(none declared)')) return '(not in this build yet)';
    if (response.status === 401 || response.status === 403) return '(needs an ops-scoped key)';
    return `(answers ${response.status})`;
  } catch {
    return '(not answering)';
  }
}

async function main(argv: readonly string[], baseEnv: Env): Promise<number> {
  const parsed = parseDemoArgs(argv, baseEnv);
  if (!parsed.ok) {
    for (const p of parsed.problems) process.stderr.write(`demo: ${p}\n`);
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const options = parsed.options;
  const urls = serverUrls(baseEnv);
  if (typeof urls === 'string') {
    process.stderr.write(`demo: ${urls}\n`);
    return 2;
  }
  const startedAt = Date.now();
  let stepAt = startedAt;
  /** How long since the previous step ended. */
  const took = (): string => {
    const text = seconds(stepAt);
    stepAt = Date.now();
    return text;
  };
  const dir = resolve(ROOT, options.dir);
  mkdirSync(dir, { recursive: true });
  const deliveryLog = join(dir, 'deliveries.jsonl');
  for (const name of ['deliveries.jsonl', 'fakes.log', ...DEMO_ROLES.map((r) => `${r}.log`)]) {
    rmSync(join(dir, name), { force: true });
  }

  const children: Child[] = [];
  let deps: Deps | undefined;
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const database = await recreateDemoDatabase(urls, options.database);
    say(`database: ${database.name} created and migrated (each run starts from an empty one) in ${took()}`);

    const fakes = await startFakesProcess(baseEnv, dir, deliveryLog);
    children.push(fakes.child);
    const env = demoEnv(baseEnv, database, options, fakes.ports);
    const loaded = loadConfig(env);
    if (!loaded.ok) throw new DemoError(`configuration:\n${formatProblems(loaded.problems)}`);
    const config: Config = loaded.config;
    deps = buildDeps(config, { role: 'demo', logger: createLogger({ level: 'warn', name: 'demo' }) });
    for (const name of ALL_QUEUES) await deps.queues.get(name)?.obliterate({ force: true });
    say(
      `fakes: SMTP :${fakes.ports.smtp}, Twilio :${fakes.ports.twilio}, FCM :${fakes.ports.fcm} (own process; delivery log ${options.dir}/deliveries.jsonl) in ${took()}`,
    );

    // The roles start while the audience is imported: their start-up (tsx, connections) overlaps it.
    const rolesAt = Date.now();
    for (const role of DEMO_ROLES) children.push(startRole(role, env, dir));
    say(
      `roles: ${DEMO_ROLES.join(', ')} starting (consentcast ${DEMO_ROLES.join(' / ')}, ${DEMO_ROLES.length === 1 ? 'one process' : 'one process each'})`,
    );
    await createNotice(deps.db, {
      version: DEMO_NOTICE_VERSION,
      locale: 'lv',
      effectiveFrom: new Date('2022-03-01T00:00:00Z'),
      body: 'Klīx paziņojums par personas datu apstrādi paziņojumu un piedāvājumu nosūtīšanai (demo copy)',
    });
    await importAudience(env, options.size);
    took();
    const faults = await configureFaults(new FakesClient(fakes.ports.control), options.size);
    say(
      `faults: ${Object.entries(faults)
        .map(([what, n]) => `${n} ${what}`)
        .join(', ')}`,
    );
    const offers = await createDemoOffers(deps.db, AUTHOR);
    const campaignId = await createDemoCampaign(deps, AUTHOR);
    say(
      `offers: ${offers} created and activated (all four purposes, lv/en/ru, every channel); campaign ${campaignId}: ${DEMO_PURPOSE} on push, e-mail and SMS; ${took()}`,
    );
    const apiKey = await createApiKey(env);

    const apiBase = `http://127.0.0.1:${options.httpPort}`;
    const queueNames = [CAMPAIGN_RUNS_QUEUE, ...Object.values(SEND_QUEUES)];
    await waitUntil(
      'the roles to start',
      async () => {
        const ready = await fetch(`${apiBase}/readyz`);
        if (!ready.ok) return false;
        for (const name of queueNames)
          if (((await deps?.queues.get(name)?.getWorkersCount()) ?? 0) < 1) return false;
        return true;
      },
      children,
      300_000,
    );
    say(`roles: ready, ${seconds(rolesAt)} after they started (logs in ${options.dir}/)`);
    took();

    const runId = await approveAndStart(deps, campaignId, { author: AUTHOR, approver: APPROVER });
    const progress = createProgress(process.stdout);
    const sendStart = Date.now();
    let withdrawals: Withdrawal[] | undefined;
    let withdrawing: Promise<void> | undefined;
    let withdrawalError: unknown;
    for (;;) {
      if (interrupted) throw new DemoError('interrupted');
      const dead = children.find((c) => c.process.exitCode !== null);
      if (dead) throw new DemoError(`${dead.name} stopped (exit ${dead.process.exitCode}):\n${tail(dead)}`);
      const counts = await statusCounts(deps.db, runId);
      const sent = Object.values(counts.byChannel).reduce((a, c) => a + (c.sent ?? 0), 0);
      if (withdrawing === undefined && sent > 0 && counts.open > 0) {
        const db = deps.db;
        withdrawing = withdrawWhileSending({
          db,
          runId,
          purpose: DEMO_PURPOSE,
          count: options.withdrawals,
          apiBase,
          apiKey,
        }).then(
          (w) => {
            withdrawals = w;
          },
          (err: unknown) => {
            withdrawalError = err;
          },
        );
      }
      if (withdrawalError !== undefined) throw withdrawalError;
      const run = await deps.db
        .selectFrom('campaign_runs')
        .select(['status', 'error'])
        .where('id', '=', runId)
        .executeTakeFirstOrThrow();
      if (run.status === 'failed')
        throw new DemoError(`the run failed: ${run.error ?? 'see campaign-runner.log'}`);
      progress.update(
        counts,
        withdrawing === undefined
          ? ''
          : withdrawals === undefined
            ? 'withdrawing…'
            : `${fmt(withdrawals.length)} withdrawn`,
      );
      if (
        run.status === 'completed' &&
        counts.open === 0 &&
        (withdrawing === undefined || withdrawals !== undefined)
      )
        break;
      if (Date.now() - sendStart > 20 * 60_000)
        throw new DemoError('the campaign did not finish within 20 minutes');
      await sleep(process.stdout.isTTY ? 500 : 1_000);
    }
    progress.done();
    const ended = await statusCounts(deps.db, runId);
    const people = new Set((withdrawals ?? []).map((w) => w.recipientId)).size;
    say(
      `sent: every one of ${fmt(ended.total)} messages ended in ${seconds(sendStart)}; ${fmt(people)} people withdrew ${fmt(withdrawals?.length ?? 0)} consents through the API while it sent`,
    );

    for (const kind of options.inject) {
      const what = await injectFault(kind, {
        db: deps.db,
        runId,
        ports: fakes.ports,
        withdrawals: withdrawals ?? [],
      });
      say(`inject (test only): ${what}`);
    }

    const input = await loadCheckInput(deps, runId, deliveryLog, withdrawals ?? []);
    const result = checkDeliveries(input);
    const delivered: Record<string, number> = {};
    const runIds = new Set(input.messages.map((m) => String(m.id)));
    for (const d of input.deliveries) {
      if (d.delivered && d.messageId !== null && runIds.has(d.messageId))
        delivered[d.channel] = (delivered[d.channel] ?? 0) + 1;
    }
    const run = await deps.db
      .selectFrom('campaign_runs')
      .select('funnel')
      .where('id', '=', runId)
      .executeTakeFirstOrThrow();
    say(formatFunnel({ funnel: run.funnel as unknown as Funnel, counts: ended, delivered }));

    const problems = result.afterWithdrawal.length + result.duplicates.length + result.mismatches.length;
    if (problems > 0) {
      say(
        `check: FAILED, from the fakes' delivery log (${fmt(input.deliveries.length)} lines) against the database:`,
      );
      for (const line of explain(result)) say(line);
    } else {
      say(
        `check: ok, from the fakes' delivery log: ${fmt(result.delivered)} deliveries, none twice, none after a withdrawal committed (${fmt(result.inFlightAtWithdrawal)} were claimed before it); the messages table agrees`,
      );
    }

    say(
      `api:       ${apiBase}/docs ${await probe(`${apiBase}/docs`, apiKey)}  (OpenAPI: ${apiBase}/openapi.json)`,
    );
    say(`dashboard: ${apiBase}/admin/queues ${await probe(`${apiBase}/admin/queues`, apiKey)}`);
    say(`metrics:   ${apiBase}/metrics ${await probe(`${apiBase}/metrics`, apiKey)}`);
    if (options.keepRunning && !interrupted) {
      say(
        `keeping the roles and fakes up (database ${database.name}, queue prefix ${options.queuePrefix}); Ctrl-C stops them`,
      );
      while (!interrupted) {
        const dead = children.find((c) => c.process.exitCode !== null);
        if (dead) throw new DemoError(`${dead.name} stopped (exit ${dead.process.exitCode}):\n${tail(dead)}`);
        await sleep(500);
      }
    }
    const codes = await stopAll(children);
    say(
      `stopped: ${children.map((c, i) => `${c.name} ${codes[i] === 0 ? 'ok' : `exit ${codes[i]}`}`).join(', ')}; done in ${seconds(startedAt)}`,
    );
    return problems > 0 ? 1 : 0;
  } catch (err) {
    process.stdout.write('\n');
    process.stderr.write(
      `demo: ${err instanceof DemoError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    await stopAll(children, 10_000);
    return interrupted ? 130 : 1;
  } finally {
    if (deps) await closeDeps(deps);
  }
}

process.exit(await main(process.argv.slice(2), process.env));
