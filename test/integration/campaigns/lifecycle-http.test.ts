import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allowedFrom, CAMPAIGN_STATUSES, TRANSITIONS } from '../../../src/campaigns/lifecycle.js';
import { CAMPAIGN_SCHEDULES_QUEUE } from '../../../src/queue/names.js';
import { runInProcess } from '../../support/campaigns.js';
import { seedAudience, seedOffer } from '../../support/seed.js';
import { createTestApp, type TestApp } from '../../support/test-app.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';

interface View {
  id: number;
  status: string;
  version: number;
  approved_version: number | null;
  approved_by: string | null;
  schedule: Record<string, unknown> | null;
}

describe('the campaign lifecycle over /v1', () => {
  let t: TestDatabase;
  let api: TestApp;
  let marketer: string;
  let colleague: string;
  let ops: string;

  beforeAll(async () => {
    t = await createTestDatabase();
    api = await createTestApp(t, {
      CAMPAIGN_TEST_SEED_CLIENT_NUMBERS: 'P1,P2,P10,P17,NOBODY',
      QUIET_HOURS_DEFAULT: '00:00-00:00',
    });
    await seedAudience(api.deps.db, 40);
    await seedOffer(api.deps.db, { key: 'general' });
    marketer = await api.key(['campaigns:write', 'campaigns:approve']); // test-key-1
    colleague = await api.key(['campaigns:approve', 'campaigns:write']); // test-key-2
    ops = await api.key(['ops']);
  });
  afterAll(async () => {
    await api.close();
    await t.drop();
  });

  const call = async (
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    url: string,
    key?: string,
    payload?: object,
  ) => {
    const reply = await api.app.inject({
      method,
      url,
      ...(key ? { headers: { authorization: `Bearer ${key}` } } : {}),
      ...(payload ? { payload } : {}),
    });
    return { status: reply.statusCode, body: reply.json() as Record<string, unknown> };
  };
  const campaignOf = (r: { body: Record<string, unknown> }) => r.body.campaign as View;
  const create = async (name = 'spring') => {
    const r = await call('POST', '/v1/campaigns', marketer, {
      name,
      purpose: 'service_offers',
      channels: ['email'],
      frequency_cap: '4/7d',
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return campaignOf(r);
  };

  it('the transition table: every action names the statuses it is allowed from, and nothing leaves cancelled or completed', () => {
    for (const [action, t] of Object.entries(TRANSITIONS)) {
      for (const s of t.from) expect(CAMPAIGN_STATUSES, action).toContain(s);
    }
    const leaving = Object.entries(TRANSITIONS)
      .filter(([a]) => a !== 'test_send')
      .flatMap(([, t]) => t.from as readonly string[]);
    expect(leaving).not.toContain('cancelled');
    expect(leaving).not.toContain('completed');
    expect(allowedFrom('schedule', true)).not.toContain('draft');
    expect(allowedFrom('schedule', false)).toContain('draft');
  });

  it('400 names every invalid field, 401 without a key, 403 without the scope, 404 for an unknown campaign', async () => {
    const bad = await call('POST', '/v1/campaigns', marketer, {
      name: '',
      purpose: 'spam',
      channels: [],
      frequency_cap: 'lots',
    });
    expect(bad.status).toBe(400);
    const fields = (bad.body.fields as { field: string }[]).map((f) => f.field);
    expect(fields).toEqual(expect.arrayContaining(['body/name', 'body/purpose', 'body/channels']));
    const rule = await call('POST', '/v1/campaigns', marketer, {
      name: 'x',
      purpose: 'service_offers',
      channels: ['email'],
      frequency_cap: 'lots',
      audience: { attr: 'Bad Name', op: 'eq', value: 1 },
    });
    expect(rule.status).toBe(400);
    expect((rule.body.fields as { field: string }[]).map((f) => f.field)).toEqual(
      expect.arrayContaining(['body/frequency_cap', 'body/audience/attr']),
    );
    expect(await t.db.selectFrom('campaigns').select('id').execute()).toHaveLength(0);

    expect((await call('GET', '/v1/campaigns')).status).toBe(401);
    expect((await call('POST', '/v1/ops/emergency-stop', marketer)).status).toBe(403);
    const c = await create('scopes');
    expect((await call('POST', `/v1/campaigns/${c.id}/approve`, ops)).status).toBe(403);
    expect((await call('GET', '/v1/campaigns/999999', marketer)).status).toBe(404);
    expect((await call('POST', '/v1/campaigns/999999/pause', marketer)).status).toBe(404);
    const sched = await call('POST', `/v1/campaigns/${c.id}/schedule`, marketer, {
      kind: 'cron',
      cron: '61 * * * *',
      time_zone: 'Mars/Olympus',
    });
    expect(sched.status).toBe(400);
    expect((sched.body.fields as { field: string }[]).map((f) => f.field)).toEqual(
      expect.arrayContaining(['body/cron', 'body/time_zone']),
    );
  });

  it('four eyes: the creator may not approve; a second person approves the version; illegal steps are 409 naming the status', async () => {
    const c = await create();
    const early = await call('POST', `/v1/campaigns/${c.id}/approve`, colleague);
    expect(early.status).toBe(409);
    expect(early.body.message).toMatch(/cannot approve campaign \d+: it is draft/);
    expect(
      (await call('POST', `/v1/campaigns/${c.id}/schedule`, marketer, { kind: 'every', every_seconds: 60 }))
        .status,
    ).toBe(409);
    expect((await call('POST', `/v1/campaigns/${c.id}/run-now`, marketer)).status).toBe(409);

    expect(campaignOf(await call('POST', `/v1/campaigns/${c.id}/submit`, marketer)).status).toBe(
      'pending_approval',
    );
    const self = await call('POST', `/v1/campaigns/${c.id}/approve`, marketer);
    expect(self.status).toBe(409);
    expect(self.body).toMatchObject({ error: 'four_eyes' });
    expect(self.body.message).toContain('second person');
    const stale = await call('POST', `/v1/campaigns/${c.id}/approve`, colleague, { version: 7 });
    expect(stale.status).toBe(409);
    expect(stale.body.error).toBe('version_conflict');

    const ok = campaignOf(await call('POST', `/v1/campaigns/${c.id}/approve`, colleague, { version: 1 }));
    expect(ok).toMatchObject({ status: 'approved', approved_version: 1, approved_by: 'test-key-2' });

    // editing an approved campaign: a new version, back to draft, approval void
    const edited = await call('PATCH', `/v1/campaigns/${c.id}`, marketer, { name: 'spring (v2)' });
    expect(campaignOf(edited)).toMatchObject({ status: 'draft', version: 2, approved_version: null });
    const approvals = await t.db
      .selectFrom('campaign_approvals')
      .select(['action', 'campaign_version', 'actor'])
      .where('campaign_id', '=', c.id)
      .orderBy('id')
      .execute();
    expect(approvals.map((a) => `${a.action}@${a.campaign_version}`)).toEqual([
      'requested@1',
      'approved@1',
      'revoked@1',
    ]);
    // reject sends it back with a reason
    await call('POST', `/v1/campaigns/${c.id}/submit`, marketer);
    expect((await call('POST', `/v1/campaigns/${c.id}/reject`, colleague, {})).status).toBe(400);
    expect(
      campaignOf(await call('POST', `/v1/campaigns/${c.id}/reject`, colleague, { reason: 'typo' })).status,
    ).toBe('draft');
    // every step is in the audit log with its actor
    const audited = await t.db
      .selectFrom('audit_log')
      .select(['action', 'actor_id'])
      .where('subject_type', '=', 'campaign')
      .where('subject_id', '=', String(c.id))
      .orderBy('id')
      .execute();
    expect(audited.map((a) => a.action)).toEqual([
      'campaign.create',
      'campaign.submit',
      'campaign.approve',
      'campaign.edit',
      'campaign.submit',
      'campaign.reject',
    ]);
    expect(audited.find((a) => a.action === 'campaign.approve')?.actor_id).toBe('test-key-2');
  });

  it('a schedule is mirrored into a BullMQ job scheduler; editing removes it; cancel is final', async () => {
    const c = await create('cron');
    await call('POST', `/v1/campaigns/${c.id}/submit`, marketer);
    await call('POST', `/v1/campaigns/${c.id}/approve`, colleague);
    const scheduled = campaignOf(
      await call('POST', `/v1/campaigns/${c.id}/schedule`, marketer, {
        kind: 'cron',
        cron: '0 10 * * 1',
        time_zone: 'Europe/Riga',
      }),
    );
    expect(scheduled).toMatchObject({
      status: 'scheduled',
      schedule: { kind: 'cron', cron: '0 10 * * 1', time_zone: 'Europe/Riga' },
    });
    const queue = api.deps.queues.get(CAMPAIGN_SCHEDULES_QUEUE);
    expect(await queue?.getJobScheduler(`campaign-${c.id}`)).toMatchObject({
      pattern: '0 10 * * 1',
      tz: 'Europe/Riga',
    });
    const edited = campaignOf(
      await call('PATCH', `/v1/campaigns/${c.id}`, marketer, { channels: ['email', 'sms'] }),
    );
    expect(edited).toMatchObject({ status: 'draft', version: 2, schedule: null });
    expect(await queue?.getJobScheduler(`campaign-${c.id}`)).toBeUndefined();

    const cancelled = await call('POST', `/v1/campaigns/${c.id}/cancel`, marketer, { reason: 'not needed' });
    expect(campaignOf(cancelled).status).toBe('cancelled');
    const again = await call('POST', `/v1/campaigns/${c.id}/resume`, marketer);
    expect(again.status).toBe(409);
    expect(again.body.message).toContain('it is cancelled');
    expect((await call('PATCH', `/v1/campaigns/${c.id}`, marketer, { name: 'x' })).status).toBe(409);
  });

  it('a test send goes to the seeds only, before approval, consent still applying, and leaves the status alone', async () => {
    const c = await create('seeded');
    const r = await call('POST', `/v1/campaigns/${c.id}/test-send`, marketer);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ seeds: 4, campaign: { status: 'draft' } });
    await runInProcess(api.deps, r.body.run_id as number);
    const got = await t.db
      .selectFrom('messages as m')
      .innerJoin('recipients as r', 'r.id', 'm.recipient_id')
      .select('r.client_number')
      .where('m.run_id', '=', r.body.run_id as number)
      .orderBy('r.client_number')
      .execute();
    // P10 has no e-mail consent, P17 no address: the seeds are people too
    expect(got.map((g) => g.client_number)).toEqual(['P1', 'P2']);
    const run = await t.db
      .selectFrom('campaign_runs')
      .select(['trigger'])
      .where('id', '=', r.body.run_id as number)
      .executeTakeFirstOrThrow();
    expect(run.trigger).toBe('test');
    expect(campaignOf(await call('GET', `/v1/campaigns/${c.id}`, marketer)).status).toBe('draft');
  });

  it('run-now of an approved campaign makes a manual run; preview answers without writing', async () => {
    const c = await create('now');
    const preview = await call('POST', `/v1/campaigns/${c.id}/preview`, marketer, { sample_size: 2 });
    expect(preview.status).toBe(200);
    expect((preview.body.samples as unknown[]).length).toBe(2);
    await call('POST', `/v1/campaigns/${c.id}/submit`, marketer);
    await call('POST', `/v1/campaigns/${c.id}/approve`, colleague);
    const r = await call('POST', `/v1/campaigns/${c.id}/run-now`, marketer);
    expect(r.body).toMatchObject({ campaign: { status: 'running' } });
    expect((await call('POST', `/v1/campaigns/${c.id}/run-now`, marketer)).status).toBe(409);
    await runInProcess(api.deps, r.body.run_id as number);
    const msgs = await t.db
      .selectFrom('messages')
      .select('id')
      .where('run_id', '=', r.body.run_id as number)
      .execute();
    expect(msgs.length).toBe((preview.body.funnel as { messages: { email: number } }).messages.email);
    // the messages are still queued (no workers here): the campaign is still running; cancel skips them
    const cancelled = await call('POST', `/v1/campaigns/${c.id}/cancel`, marketer);
    expect(cancelled.body.skipped).toBe(msgs.length);
    const open = await t.db
      .selectFrom('messages')
      .select(['status', 'skip_reason'])
      .where('run_id', '=', r.body.run_id as number)
      .execute();
    expect(open.every((m) => m.status === 'skipped' && m.skip_reason === 'campaign_cancelled')).toBe(true);
  });

  it('emergency stop: recorded, read back, audited; resume lifts it', async () => {
    const stop = await call('POST', '/v1/ops/emergency-stop', ops, { reason: 'wrong offer text' });
    expect(stop.status).toBe(200);
    expect(stop.body).toMatchObject({
      stopped: true,
      changed: true,
      stopped_by: 'test-key-3',
      queues_paused: { email: true, sms: true, push: true },
    });
    expect((await call('POST', '/v1/ops/emergency-stop', ops)).body).toMatchObject({
      stopped: true,
      changed: false,
    });
    expect((await call('GET', '/v1/ops/emergency-stop', ops)).body).toMatchObject({
      stopped: true,
      reason: 'wrong offer text',
    });
    const resumed = await call('POST', '/v1/ops/emergency-resume', ops);
    expect(resumed.body).toMatchObject({
      stopped: false,
      changed: true,
      queues_paused: { email: false, sms: false, push: false },
    });
    const audited = await t.db
      .selectFrom('audit_log')
      .select('action')
      .where('action', 'like', 'ops.emergency%')
      .orderBy('id')
      .execute();
    expect(audited.map((a) => a.action)).toEqual([
      'ops.emergency_stop',
      'ops.emergency_stop',
      'ops.emergency_resume',
    ]);
  });
});

describe('with four-eyes approval switched off', () => {
  let t: TestDatabase;
  let api: TestApp;
  beforeAll(async () => {
    t = await createTestDatabase();
    api = await createTestApp(t, { CAMPAIGN_APPROVAL_REQUIRED: 'false' });
  });
  afterAll(async () => {
    await api.close();
    await t.drop();
  });

  it('a draft is scheduled directly and submit says approval is off', async () => {
    const key = await api.key(['campaigns:write']);
    const headers = { authorization: `Bearer ${key}` };
    const created = await api.app.inject({
      method: 'POST',
      url: '/v1/campaigns',
      headers,
      payload: { name: 'direct', purpose: 'contests', channels: ['push'] },
    });
    const id = (created.json() as { campaign: View }).campaign.id;
    const submit = await api.app.inject({ method: 'POST', url: `/v1/campaigns/${id}/submit`, headers });
    expect(submit.statusCode).toBe(409);
    expect(submit.json()).toMatchObject({ error: 'approval_not_required' });
    const at = new Date(Date.now() + 3_600_000).toISOString();
    const scheduled = await api.app.inject({
      method: 'POST',
      url: `/v1/campaigns/${id}/schedule`,
      headers,
      payload: { kind: 'once', at },
    });
    expect(scheduled.json()).toMatchObject({
      campaign: { status: 'scheduled', schedule: { kind: 'once', at } },
    });
    const unscheduled = await api.app.inject({
      method: 'DELETE',
      url: `/v1/campaigns/${id}/schedule`,
      headers,
    });
    expect(unscheduled.json()).toMatchObject({ campaign: { status: 'draft', schedule: null } });
  });
});
