import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CHANNELS } from '../../../src/domain/vocabulary.js';
import type { Report } from '../../../src/reports/report.js';
import { runConsentcast } from '../../support/cli.js';
import { exampleEnv } from '../../support/service-env.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';
import { fakeOutcomes, type Scenario, startScenario } from './scenario.js';

interface Listed {
  messages: { id: number; channel: string; resolution: string | null; run_id: number }[];
  next_after: number | null;
}

describe('an operator resolves indeterminate messages (never sent again; audited; reported)', () => {
  let t: TestDatabase;
  let s: Scenario;
  let ops: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    t = await createTestDatabase();
    s = await startScenario(t);
    ops = await s.api.key(['ops', 'reports:read']);
    env = { ...exampleEnv(), DATABASE_URL: t.appUrl, REDIS_URL: inject('services').redisUrl };
  }, 240_000);
  afterAll(async () => {
    await s?.close();
    await t?.drop();
  });

  const call = (method: 'GET' | 'POST', url: string, payload?: object, key: string | null = ops) =>
    s.api.app.inject({
      method,
      url,
      ...(payload ? { payload } : {}),
      headers: key === null ? {} : { authorization: `Bearer ${key}` },
    });
  const list = async (query: string) => {
    const reply = await call('GET', `/v1/messages?${query}`);
    expect(reply.statusCode, reply.body).toBe(200);
    return reply.json() as Listed;
  };

  it('lists the indeterminate messages of a campaign with ids and metadata only, keyset-paged', async () => {
    const all = await list(`status=indeterminate&campaign=${s.campaignId}`);
    const inDb = await s.api.deps.db
      .selectFrom('messages')
      .select('id')
      .where('campaign_id', '=', s.campaignId)
      .where('status', '=', 'indeterminate')
      .orderBy('id')
      .execute();
    expect(all.messages.map((m) => m.id)).toEqual(inDb.map((m) => m.id));
    expect(inDb.length).toBeGreaterThanOrEqual(3); // P3, P36, P45 in run 1 at least
    for (const m of all.messages) {
      expect(Object.keys(m)).not.toEqual(expect.arrayContaining(['recipient_id']));
      expect(JSON.stringify(m)).not.toMatch(/@example\.lv|\+3712|tok-P/);
    }
    const page = await list(`campaign=${s.campaignId}&limit=2`);
    expect(page.messages).toHaveLength(2);
    const rest = await list(`campaign=${s.campaignId}&after=${page.next_after}`);
    expect([...page.messages, ...rest.messages].map((m) => m.id)).toEqual(inDb.map((m) => m.id));
  });

  it('refuses what it must: 400 naming fields, 401, 403, 404, and 409 for a message that is not indeterminate', async () => {
    const open = await list(`campaign=${s.campaignId}&resolved=false`);
    const target = open.messages[0]?.id ?? 0;
    const bad = await call('POST', `/v1/messages/${target}/resolve`, { outcome: 'maybe', colour: 'red' });
    expect(bad.statusCode).toBe(400);
    expect(new Set((bad.json() as { fields: { field: string }[] }).fields.map((f) => f.field))).toEqual(
      new Set(['body/outcome', 'body/reason', 'body/colour']),
    );
    const body = { outcome: 'sent', reason: 'provider log shows it accepted' };
    expect((await call('POST', `/v1/messages/${target}/resolve`, body, null)).statusCode).toBe(401);
    const reader = await s.api.key(['reports:read']);
    expect((await call('POST', `/v1/messages/${target}/resolve`, body, reader)).statusCode).toBe(403);
    expect((await call('GET', '/v1/messages', undefined, reader)).statusCode).toBe(403);
    expect((await call('POST', '/v1/messages/99999999/resolve', body)).statusCode).toBe(404);
    const sent = await s.api.deps.db
      .selectFrom('messages')
      .select('id')
      .where('status', '=', 'sent')
      .executeTakeFirstOrThrow();
    const conflict = await call('POST', `/v1/messages/${sent.id}/resolve`, body);
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json()).toMatchObject({
      error: 'not_indeterminate',
      message: expect.stringContaining('is sent'),
    });
    // nothing was written by any refused call
    const resolved = await s.api.deps.db
      .selectFrom('messages')
      .select('id')
      .where('resolution', 'is not', null)
      .execute();
    expect(resolved).toEqual([]);
  });

  it('resolutions by the API and the CLI are audited, final (409 again), and make the report match the fakes', async () => {
    const [first] = s.runs;
    const open = (await list(`run=${first}&resolved=false`)).messages;
    expect(open.length).toBeGreaterThanOrEqual(3);
    const [byCli, ...byApi] = open;
    if (!byCli) throw new Error('nothing to resolve');
    for (const m of byApi) {
      const reply = await call('POST', `/v1/messages/${m.id}/resolve`, {
        outcome: 'sent',
        reason: 'provider dashboard shows it delivered',
      });
      expect(reply.statusCode, reply.body).toBe(200);
      expect(reply.json()).toMatchObject({ id: m.id, status: 'indeterminate', resolution: 'sent' });
    }
    const cli = await runConsentcast(
      [
        'message',
        'resolve',
        String(byCli.id),
        '--outcome',
        'sent',
        '--reason',
        'checked the SMTP log',
        '--actor',
        'anna.ops',
        '--json',
      ],
      env,
    );
    expect(cli.code, cli.stderr).toBe(0);
    expect(JSON.parse(cli.stdout)).toMatchObject({
      id: byCli.id,
      resolution: 'sent',
      resolved_by: 'operator:anna.ops',
    });
    const again = await runConsentcast(
      ['message', 'resolve', String(byCli.id), '--outcome', 'not_sent', '--reason', 'changed my mind'],
      env,
    );
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already resolved as sent/);
    const twice = await call('POST', `/v1/messages/${byApi[0]?.id}/resolve`, {
      outcome: 'not_sent',
      reason: 'again',
    });
    expect(twice.statusCode).toBe(409);

    const audits = await s.api.deps.db
      .selectFrom('audit_log')
      .select(['actor_type', 'actor_id', 'reason', 'subject_id', 'details'])
      .where('action', '=', 'message.resolve')
      .orderBy('id')
      .execute();
    expect(audits).toHaveLength(open.length);
    expect(audits.at(-1)).toMatchObject({
      actor_type: 'operator',
      actor_id: 'anna.ops',
      reason: 'checked the SMTP log',
      subject_id: String(byCli.id),
      details: { outcome: 'sent', run_id: first },
    });

    // every lost answer of run 1 was in fact taken by the fakes: now "sent" is exactly what they took
    const report = (await call('GET', `/v1/runs/${first}/report`)).json() as Report;
    for (const channel of CHANNELS) {
      const row = report.rows.find((r) => r.breakdown === 'channel' && r.channel === channel);
      const fake = await fakeOutcomes(s, channel, first ?? 0);
      expect(row?.sent, channel).toBe(fake.delivered);
      expect(row?.indeterminate, channel).toBe(0);
      expect(row?.resolved_sent, channel).toBe(open.filter((m) => m.channel === channel).length);
    }
    expect(await list(`run=${first}&resolved=false`)).toMatchObject({ messages: [] });
    const listed = await runConsentcast(['message', 'list', '--run', String(first), '--json'], env);
    expect(listed.code, listed.stderr).toBe(0);
    expect((JSON.parse(listed.stdout) as Listed).messages.map((m) => m.resolution)).toEqual(
      open.map(() => 'sent'),
    );
  });

  it('CLI usage errors name every problem and exit 2', async () => {
    const bad = await runConsentcast(['message', 'resolve', 'abc', '--outcome', 'maybe'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/MESSAGE_ID must be a positive whole number/);
    expect(bad.stderr).toMatch(/--outcome is sent or not_sent/);
    expect(bad.stderr).toMatch(/--reason is 3-500 characters/);
  });
});
