import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHANNELS } from '../../../src/domain/vocabulary.js';
import {
  EXCLUSION_REASONS,
  MESSAGE_COUNTERS,
  type Report,
  type ReportRow,
} from '../../../src/reports/report.js';
import { CSV_COLUMNS } from '../../../src/reports/report-csv.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';
import { personalValues } from '../inbound/setup.js';
import { fakeOutcomes, type Scenario, startScenario } from './scenario.js';

/** RFC 4180 as the importer's CSV library reads it; records end with CRLF. */
const parseCsv = (text: string): string[][] => parse(text, { record_delimiter: '\r\n' });

describe('reports count what the fakes received and what the runs recorded (N8)', () => {
  let t: TestDatabase;
  let s: Scenario;
  let reader: string;

  beforeAll(async () => {
    t = await createTestDatabase();
    s = await startScenario(t);
    reader = await s.api.key(['reports:read']);
  }, 240_000);
  afterAll(async () => {
    await s?.close();
    await t?.drop();
  });

  const get = async (url: string, headers: Record<string, string> = {}) =>
    s.api.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${reader}`, ...headers } });
  const report = async (url: string) => {
    const reply = await get(url);
    expect(reply.statusCode, reply.body).toBe(200);
    return reply.json() as Report;
  };
  const rowOf = (r: Report, channel: string) => {
    const row = r.rows.find((x) => x.breakdown === 'channel' && x.channel === channel);
    if (!row) throw new Error(`no ${channel} row`);
    return row;
  };
  const exclusionsOf = async (runId: number) =>
    s.api.deps.db
      .selectFrom('run_exclusions')
      .select(['channel', 'reason', (eb) => eb.fn.countAll<number>().as('n')])
      .where('run_id', '=', runId)
      .groupBy(['channel', 'reason'])
      .execute();

  it('per run and channel: sent + lost answers = what the provider fakes took, failed = what they only refused, exclusions = the table', async () => {
    for (const runId of s.runs) {
      const r = await report(`/v1/runs/${runId}/report`);
      expect(r.scope).toBe('run');
      expect(r.runs.map((x) => x.id)).toEqual([runId]);
      const recorded = await exclusionsOf(runId);
      for (const channel of CHANNELS) {
        const row = rowOf(r, channel);
        const fake = await fakeOutcomes(s, channel, runId);
        expect(row.messages, `${runId} ${channel} messages`).toBe(fake.messages);
        expect(row.sent + row.indeterminate, `${runId} ${channel} reached the provider`).toBe(fake.delivered);
        expect(row.failed, `${runId} ${channel} refused`).toBe(fake.refused);
        expect(row.queued + row.sending + row.sent + row.failed + row.indeterminate + row.skipped).toBe(
          row.messages,
        );
        for (const reason of EXCLUSION_REASONS) {
          const n = recorded.find((x) => x.channel === channel && x.reason === reason)?.n ?? 0;
          expect(row.excluded_by_reason?.[reason], `${runId} ${channel} ${reason}`).toBe(Number(n));
        }
        expect(row.excluded).toBe(
          recorded.filter((x) => x.channel === channel).reduce((a, x) => a + Number(x.n), 0),
        );
      }
      // the funnel's people selected are the people with a message
      const funnel = await s.api.deps.db
        .selectFrom('campaign_runs')
        .select('funnel')
        .where('id', '=', runId)
        .executeTakeFirstOrThrow();
      const total = r.rows.find((x) => x.breakdown === 'total') as ReportRow;
      expect(total.selected).toBe((funnel.funnel as { selected: number }).selected);
      expect(r.audience.considered).toBe((funnel.funnel as { considered: number }).considered);
    }
  });

  it('shows each kind of exclusion, fault and engagement where the scenario put it', async () => {
    const [first, second] = await Promise.all(s.runs.map((id) => report(`/v1/runs/${id}/report`)));
    if (!first || !second) throw new Error('no reports');
    for (const channel of CHANNELS) {
      const row = rowOf(first, channel);
      // P7 restricted, P11 objected, the erased person: on every channel
      expect(row.excluded_by_reason).toMatchObject({ restricted: 1, objected: 1, erased: 1 });
    }
    const email1 = rowOf(first, 'email');
    const sms1 = rowOf(first, 'sms');
    const push1 = rowOf(first, 'push');
    expect(email1.excluded_by_reason?.suppressed).toBe(1); // P9
    expect(email1).toMatchObject({
      failed: 1,
      indeterminate: 1,
      queued: 1,
      opened: 2,
      clicked: 1,
      unsubscribed: 1,
    });
    expect(sms1).toMatchObject({ failed: 1, indeterminate: 1, delivered: 1 });
    expect(push1).toMatchObject({ failed: 1, indeterminate: 1 });
    expect(sms1.excluded_by_reason?.no_eligible_offer).toBeGreaterThan(0);
    // run 2 meets run 1's consequences: P2's bounce suppressed, P30's token dead, P6 unsubscribed, caps
    const email2 = rowOf(second, 'email');
    expect(email2.excluded_by_reason?.suppressed).toBe(2);
    expect(email2.excluded_by_reason?.no_consent).toBe((email1.excluded_by_reason?.no_consent ?? 0) + 1);
    expect(rowOf(second, 'push').excluded_by_reason?.no_contact).toBe(
      (push1.excluded_by_reason?.no_contact ?? 0) + 1,
    );
    const capped = CHANNELS.reduce(
      (a, c) => a + (rowOf(second, c).excluded_by_reason?.frequency_cap ?? 0),
      0,
    );
    expect(capped).toBeGreaterThan(0);
    // by offer: the two offers split the e-mail messages; `basic` has no SMS content
    const offers = first.rows.filter((x) => x.breakdown === 'offer');
    expect(
      offers
        .filter((x) => x.channel === 'email')
        .map((x) => x.offer_key)
        .sort(),
    ).toEqual(['basic', 'travel']);
    expect(offers.filter((x) => x.channel === 'sms').map((x) => x.offer_key)).toEqual(['travel']);
    for (const c of MESSAGE_COUNTERS) {
      if (c === 'selected') continue;
      const sum = offers.filter((x) => x.channel === 'email').reduce((a, x) => a + x[c], 0);
      expect(sum, `email ${c} by offer`).toBe(email1[c]);
    }
    expect(offers.every((x) => x.excluded === null && x.excluded_by_reason === null)).toBe(true);
  });

  it('a campaign report is the sum of its runs', async () => {
    const all = await report(`/v1/campaigns/${s.campaignId}/report`);
    const runs = await Promise.all(s.runs.map((id) => report(`/v1/runs/${id}/report`)));
    expect(all.scope).toBe('campaign');
    expect(all.runs.map((x) => x.id)).toEqual([...s.runs]);
    for (const row of all.rows.filter((x) => x.breakdown !== 'offer')) {
      const parts = runs.map((r) =>
        r.rows.find((x) => x.breakdown === row.breakdown && x.channel === row.channel),
      );
      for (const c of MESSAGE_COUNTERS) {
        expect(row[c], `${row.channel} ${c}`).toBe(parts.reduce((a, p) => a + (p?.[c] ?? 0), 0));
      }
      expect(row.excluded).toBe(parts.reduce((a, p) => a + (p?.excluded ?? 0), 0));
    }
    expect(all.audience.considered).toBe(runs.reduce((a, r) => a + r.audience.considered, 0));
  });

  it('CSV (by ?format=csv or Accept: text/csv) has the fixed header and parses back to the JSON numbers', async () => {
    const url = `/v1/campaigns/${s.campaignId}/report`;
    const json = await report(url);
    const byQuery = await get(`${url}?format=csv`);
    const byAccept = await get(url, { accept: 'text/csv' });
    expect(byQuery.statusCode).toBe(200);
    expect(byQuery.headers['content-type']).toMatch(/^text\/csv/);
    expect(byAccept.headers['content-type']).toMatch(/^text\/csv/);
    expect(byQuery.body.endsWith('\r\n')).toBe(true);
    const [header, ...records] = parseCsv(byQuery.body);
    expect(header).toEqual([...CSV_COLUMNS]);
    expect(parseCsv(byAccept.body).length).toBe(records.length + 1);
    expect(records.length).toBe(json.rows.length);
    json.rows.forEach((row, i) => {
      const cells = Object.fromEntries((header ?? []).map((h, j) => [h, records[i]?.[j]]));
      expect(cells).toMatchObject({ breakdown: row.breakdown, channel: row.channel, scope: 'campaign' });
      for (const c of MESSAGE_COUNTERS) expect(Number(cells[c]), `${i} ${c}`).toBe(row[c]);
      for (const r of EXCLUSION_REASONS) {
        expect(cells[`excluded_${r}`]).toBe(row.excluded_by_reason ? String(row.excluded_by_reason[r]) : '');
      }
      for (const [r, n] of Object.entries(row.skipped_by_reason))
        expect(Number(cells[`skipped_${r}`])).toBe(n);
      expect(cells.considered).toBe(row.breakdown === 'total' ? String(json.audience.considered) : '');
    });
    // ?format wins over Accept
    const forcedJson = await get(`${url}?format=json`, { accept: 'text/csv' });
    expect(forcedJson.headers['content-type']).toMatch(/^application\/json/);
  });

  it('holds no personal data: no client number, address, number or name appears in a report', async () => {
    const values = [...(await personalValues(s.api)), 'P12', 'P52'];
    for (const url of [`/v1/campaigns/${s.campaignId}/report`, `/v1/runs/${s.runs[0]}/report?format=csv`]) {
      const body = (await get(url)).body;
      for (const v of values) expect(body.includes(`"${v}"`) || body.includes(`,${v},`), v).toBe(false);
    }
  });

  it('is in the OpenAPI document with both media types, and explain and resolve with their scopes', async () => {
    const doc = (await s.api.app.inject({ method: 'GET', url: '/openapi.json' })).json() as {
      paths: Record<
        string,
        Record<string, { responses: Record<string, { content?: Record<string, unknown> }> }>
      >;
    };
    for (const path of ['/v1/runs/{id}/report', '/v1/campaigns/{id}/report']) {
      expect(Object.keys(doc.paths[path]?.get?.responses['200']?.content ?? {}).sort(), path).toEqual([
        'application/json',
        'text/csv',
      ]);
    }
    expect(doc.paths['/v1/campaigns/{id}/explain/{clientNumber}']?.get?.responses['200']).toBeDefined();
    expect(doc.paths['/v1/messages/{id}/resolve']?.post?.responses['200']).toBeDefined();
    expect(doc.paths['/v1/messages']?.get?.responses['200']).toBeDefined();
  });

  it('answers 401 without a key, 403 without reports:read, 404 for unknown ids, 400 naming bad input', async () => {
    const url = `/v1/runs/${s.runs[0]}/report`;
    expect((await s.api.app.inject({ method: 'GET', url })).statusCode).toBe(401);
    const other = await s.api.key(['recipients:read']);
    const forbidden = await s.api.app.inject({
      method: 'GET',
      url,
      headers: { authorization: `Bearer ${other}` },
    });
    expect(forbidden.statusCode).toBe(403);
    expect((await get('/v1/runs/999999/report')).statusCode).toBe(404);
    expect((await get('/v1/campaigns/999999/report')).statusCode).toBe(404);
    const bad = await get('/v1/campaigns/abc/report?format=xml&colour=red');
    expect(bad.statusCode).toBe(400);
    const fields = new Set((bad.json() as { fields: { field: string }[] }).fields.map((f) => f.field));
    expect([...fields].sort()).toEqual(['params/id', 'query/colour', 'query/format'].sort());
  });
});
