import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Fakes, providerEnv, startFakes } from '../../fakes/fakes.js';
import { defineCampaign, openMessages, runNow } from '../../support/campaigns.js';
import { freePort, type RunningRole, startRole, waitFor } from '../../support/process.js';
import { type MetricFamily, parsePrometheus, sampleSum, sampleValue } from '../../support/prometheus.js';
import { exposedNames, metricNamesIn } from '../../support/promql.js';
import { promtool } from '../../support/promtool.js';
import { seedAudience, seedOffer } from '../../support/seed.js';
import { exampleEnv, ROOT } from '../../support/service-env.js';
import { createTestApp, type TestApp } from '../../support/test-app.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';

/** Series Prometheus makes itself for every target; no /metrics shows them. */
const SYNTHETIC = new Set(['up']);
const DASHBOARD = `${ROOT}ops/grafana/consentcast-dashboard.json`;
const RULES = `${ROOT}ops/prometheus/consentcast-alerts.yml`;
/** Every panel's and query's data source: the dashboard variable `datasource`. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a template literal
const FROM_VARIABLE = { type: 'prometheus', uid: '${datasource}' };

type Json = Record<string, unknown>;
const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const records = (v: unknown): Json[] => (Array.isArray(v) ? v.filter(isRecord) : []);

/** Every panel of a dashboard, the ones inside rows included. */
function panelsOf(dashboard: Json): Json[] {
  return records(dashboard.panels).flatMap((p) => [p, ...records(p.panels)]);
}

/** The `expr` of every alerting rule in a rule file, block scalars (`expr: |`) included. */
function ruleExpressions(yaml: string): string[] {
  const lines = yaml.split('\n');
  const out: string[] = [];
  lines.forEach((line, i) => {
    const m = /^(\s*)expr:\s*(.*)$/.exec(line);
    if (!m) return;
    const [, indent = '', rest = ''] = m;
    if (!/^[|>]-?$/.test(rest)) {
      out.push(rest.replace(/^(['"])(.*)\1$/, '$2'));
      return;
    }
    const block: string[] = [];
    for (const next of lines.slice(i + 1)) {
      if (next.trim() !== '' && next.search(/\S/) <= indent.length) break;
      block.push(next);
    }
    out.push(block.join('\n'));
  });
  return out;
}

describe('ops: every /metrics passes promtool, and the dashboard and alerts read only what it exposes', () => {
  let t: TestDatabase;
  let fakes: Fakes;
  let api: TestApp;
  let email: RunningRole | undefined;
  let metricsUrl: string;
  let sent = 0;

  beforeAll(async () => {
    t = await createTestDatabase();
    fakes = await startFakes();
    const providers = { ...providerEnv(fakes.ports), QUIET_HOURS_DEFAULT: '00:00-00:00' };
    api = await createTestApp(t, providers);
    await seedAudience(api.deps.db, 12);
    await seedOffer(api.deps.db, { key: 'general' });
    const metricsPort = await freePort();
    metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    email = startRole(['email'], {
      ...exampleEnv(),
      ...providers,
      DATABASE_URL: t.appUrl,
      REDIS_URL: inject('services').redisUrl,
      QUEUE_PREFIX: api.config.redis.queuePrefix,
      HTTP_HOST: '127.0.0.1',
      METRICS_PORT: String(metricsPort),
      LOG_LEVEL: 'warn',
    });
    const running = email;
    await waitFor('the e-mail role’s metrics port', async () => (await fetch(metricsUrl)).ok, 60_000).catch(
      (err: unknown) => {
        throw new Error(`${String(err)}\n${running.output()}`);
      },
    );

    // the role sends a small campaign, so its counters and histograms have samples
    const campaign = await defineCampaign(api.deps, {
      name: 'promtool',
      purpose: 'service_offers',
      channels: ['email'],
      quiet_hours: '00:00-00:00',
      frequency_cap: '4/7d',
    });
    const { runId } = await runNow(api.deps, campaign.id);
    await waitFor(
      'the e-mail role to send the run',
      async () => (await openMessages(api.deps, runId)) === 0,
      60_000,
    );
    const rows = await api.deps.db
      .selectFrom('messages')
      .select('id')
      .where('run_id', '=', runId)
      .where('status', '=', 'sent')
      .execute();
    sent = rows.length;
  }, 180_000);
  afterAll(async () => {
    if (email !== undefined) {
      email.child.kill('SIGTERM');
      await email.exited;
    }
    await api?.close();
    await fakes?.close();
    await t?.drop();
  });

  const scrapeApi = async (): Promise<string> => {
    const ops = await api.key(['ops']);
    const reply = await api.app.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: `Bearer ${ops}` },
    });
    expect(reply.statusCode).toBe(200);
    return reply.body;
  };
  const scrapeRole = async (): Promise<string> => {
    const response = await fetch(metricsUrl);
    expect(response.status).toBe(200);
    return response.text();
  };
  const version = async (): Promise<string> => {
    const parsed: unknown = JSON.parse(await readFile(`${ROOT}package.json`, 'utf8'));
    return isRecord(parsed) && typeof parsed.version === 'string' ? parsed.version : 'missing';
  };

  it('the api’s /metrics passes `promtool check metrics`, with request durations by route pattern and the build info', async () => {
    const campaign = await defineCampaign(api.deps, {
      name: 'route label',
      purpose: 'service_offers',
      channels: ['email'],
      quiet_hours: '00:00-00:00',
      frequency_cap: '4/7d',
    });
    const writer = await api.key(['campaigns:write']);
    const read = await api.app.inject({
      method: 'GET',
      url: `/v1/campaigns/${campaign.id}`,
      headers: { authorization: `Bearer ${writer}` },
    });
    expect(read.statusCode).toBe(200);
    expect((await api.app.inject({ method: 'GET', url: '/no/such/path/123' })).statusCode).toBe(404);

    const body = await scrapeApi();
    const check = await promtool(['check', 'metrics'], { stdin: body });
    expect(check, check.output).toEqual({ code: 0, output: '' });

    const families = parsePrometheus(body);
    expect(families.find((f) => f.name === 'http_request_duration_seconds')?.type).toBe('histogram');
    const labelled = { method: 'GET', route: '/v1/campaigns/:id', status_code: '200' };
    expect(sampleSum(families, 'http_request_duration_seconds_count', labelled)).toBeGreaterThanOrEqual(1);
    expect(
      sampleSum(families, 'http_request_duration_seconds_count', {
        method: 'GET',
        route: 'unmatched',
        status_code: '404',
      }),
    ).toBeGreaterThanOrEqual(1);
    const routes = new Set(
      families
        .filter((f) => f.name === 'http_request_duration_seconds')
        .flatMap((f) => f.samples.map((s) => s.labels.route)),
    );
    // the pattern, never the URL
    expect([...routes].filter((r) => r?.includes(String(campaign.id)) || r?.includes('/no/such'))).toEqual(
      [],
    );

    expect(
      sampleValue(families, 'consentcast_build_info', {
        version: await version(),
        node: process.versions.node,
      }),
    ).toBe(1);
    for (const gone of ['nodejs_active_handles_total', 'nodejs_active_requests_total']) {
      expect(families.map((f) => f.name)).not.toContain(gone);
    }
    expect(families.find((f) => f.name === 'nodejs_active_handles')?.type).toBe('gauge');
    expect(sampleValue(families, 'consentcast_messages_indeterminate_unresolved', { channel: 'email' })).toBe(
      0,
    );
  });

  it('a worker role’s METRICS_PORT passes `promtool check metrics` after sending', async () => {
    expect(sent).toBeGreaterThan(0);
    const body = await scrapeRole();
    const check = await promtool(['check', 'metrics'], { stdin: body });
    expect(check, check.output).toEqual({ code: 0, output: '' });

    const families = parsePrometheus(body);
    expect(sampleSum(families, 'consentcast_sends_total', { channel: 'email', outcome: 'sent' })).toBe(sent);
    expect(sampleSum(families, 'consentcast_claim_to_handoff_seconds_count', { channel: 'email' })).toBe(
      sent,
    );
    expect(sampleSum(families, 'consentcast_build_info')).toBe(1);
    // a role without an HTTP app exposes no empty request histogram
    expect(families.map((f) => f.name)).not.toContain('http_request_duration_seconds');
  });

  const exposed = async (): Promise<Set<string>> => {
    const families: MetricFamily[] = [
      ...parsePrometheus(await scrapeApi()),
      ...parsePrometheus(await scrapeRole()),
    ];
    return exposedNames(families);
  };

  /** `promtool check rules` on the expressions as recording rules: a PromQL syntax check. */
  const checkSyntax = async (exprs: readonly string[]): Promise<void> => {
    const dir = await mkdtemp(join(tmpdir(), 'cc-promql-'));
    try {
      const rules = exprs.map((expr, i) => ({
        record: `dashboard:expr_${i}`,
        expr: expr.replaceAll('$__rate_interval', '5m'),
      }));
      // JSON is YAML: promtool reads it as a rule file
      await writeFile(join(dir, 'exprs.yml'), JSON.stringify({ groups: [{ name: 'dashboard', rules }] }));
      const check = await promtool(['check', 'rules', join(dir, 'exprs.yml')]);
      expect(check.code, check.output).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };

  it('the Grafana dashboard parses, takes its datasource from a variable and queries only exposed metrics', async () => {
    const parsed: unknown = JSON.parse(await readFile(DASHBOARD, 'utf8'));
    expect(isRecord(parsed)).toBe(true);
    const dashboard = isRecord(parsed) ? parsed : {};
    const variables = isRecord(dashboard.templating) ? records(dashboard.templating.list) : [];
    expect(variables).toContainEqual(
      expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }),
    );

    const panels = panelsOf(dashboard).filter((p) => p.type !== 'row');
    expect(panels.length).toBeGreaterThan(10);
    const exprs: string[] = [];
    for (const panel of panels) {
      expect(panel.datasource, String(panel.title)).toEqual(FROM_VARIABLE);
      const targets = records(panel.targets);
      expect(targets.length, String(panel.title)).toBeGreaterThan(0);
      for (const target of targets) {
        expect(target.datasource, String(panel.title)).toEqual(FROM_VARIABLE);
        expect(typeof target.expr, String(panel.title)).toBe('string');
        if (typeof target.expr === 'string') exprs.push(target.expr);
      }
    }

    const names = await exposed();
    const read = new Set(exprs.flatMap(metricNamesIn));
    expect([...read].filter((n) => !names.has(n) && !SYNTHETIC.has(n))).toEqual([]);
    for (const needed of [
      'consentcast_queue_jobs',
      'consentcast_queue_oldest_waiting_age_seconds',
      'consentcast_sends_total',
      'consentcast_send_skips_total',
      'consentcast_message_skips',
      'consentcast_claim_to_handoff_seconds_bucket',
      'consentcast_messages',
    ]) {
      expect(read, needed).toContain(needed);
    }
    await checkSyntax(exprs);
  });

  it('the alert rules read only exposed metrics (and `up`)', async () => {
    const exprs = ruleExpressions(await readFile(RULES, 'utf8'));
    expect(exprs).toHaveLength(7);
    const names = await exposed();
    const read = new Set(exprs.flatMap(metricNamesIn));
    expect([...read].filter((n) => !names.has(n) && !SYNTHETIC.has(n))).toEqual([]);
    expect(read).toContain('consentcast_messages_on_expired_lease');
    await checkSyntax(exprs);
  });
});
