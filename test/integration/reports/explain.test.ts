import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Explanation } from '../../../src/reports/explain.js';
import { defineCampaign } from '../../support/campaigns.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';
import { ERASED_CLIENT, type Scenario, startScenario } from './scenario.js';

describe('explain: why a person was or was not selected, and what happened (N8, N9)', () => {
  let t: TestDatabase;
  let s: Scenario;
  let dsr: string;

  beforeAll(async () => {
    t = await createTestDatabase();
    s = await startScenario(t);
    dsr = await s.api.key(['dsr']);
  }, 240_000);
  afterAll(async () => {
    await s?.close();
    await t?.drop();
  });

  const explainReply = (client: string, query = '', key = dsr, campaignId = s.campaignId) =>
    s.api.app.inject({
      method: 'GET',
      url: `/v1/campaigns/${campaignId}/explain/${client}?reason=${encodeURIComponent('person asked why (ticket 17)')}${query}`,
      headers: { authorization: `Bearer ${key}` },
    });
  const explain = async (client: string, query = '', campaignId = s.campaignId) => {
    const reply = await explainReply(client, query, dsr, campaignId);
    expect(reply.statusCode, reply.body).toBe(200);
    return reply.json() as Explanation;
  };
  const channelOf = (e: Explanation, run: 0 | 1, channel: string) => {
    const c = e.runs[run]?.channels.find((x) => x.channel === channel);
    if (!c) throw new Error(`no ${channel} in run ${run}`);
    return c;
  };

  it('gives the recorded reason for each kind of exclusion, with since-when from the records', async () => {
    const cases: [string, 0 | 1, string, string, RegExp][] = [
      ['P7', 0, 'email', 'restricted', /restricted .*since/],
      ['P11', 0, 'sms', 'objected', /objected to direct marketing \(N14\) on/],
      [ERASED_CLIENT, 0, 'push', 'erased', /erased/],
      ['P9', 0, 'email', 'suppressed', /suppressed \(complaint\) since/],
      ['P10', 0, 'email', 'no_consent', /none was ever recorded/],
      ['P6', 1, 'email', 'no_consent', /withdrawn since .* \(source unsubscribe_link\)/],
      ['P17', 0, 'email', 'no_contact', /no e-mail address/],
      ['P30', 1, 'push', 'no_contact', /invalidated \(unregistered\)/],
      ['P2', 1, 'email', 'suppressed', /hard_bounce/],
      ['P12', 1, 'sms', 'frequency_cap', /frequency cap .* 2 per 168h/],
      ['P4', 0, 'sms', 'no_eligible_offer', /no offer/],
    ];
    for (const [client, run, channel, reason, text] of cases) {
      const c = channelOf(await explain(client), run, channel);
      expect(c, `${client} ${channel}`).toMatchObject({ outcome: 'excluded', reason });
      expect(c.text, `${client} ${channel}`).toMatch(text);
    }
    // since-when comes from the ledger and the markers, not from the run
    const p6 = channelOf(await explain('P6'), 1, 'email');
    const withdrawal = await s.api.deps.db
      .selectFrom('consent_events as e')
      .innerJoin('recipients as r', 'r.id', 'e.recipient_id')
      .select('e.occurred_at')
      .where('r.client_number', '=', 'P6')
      .where('e.action', '=', 'withdraw')
      .executeTakeFirstOrThrow();
    expect(new Date(p6.since as unknown as string).getTime()).toBe(withdrawal.occurred_at.getTime());
    expect(p6.detail).toMatchObject({ consent_status: 'withdrawn', source: 'unsubscribe_link' });
    const p7 = await s.api.deps.db
      .selectFrom('recipients')
      .select('restricted_at')
      .where('client_number', '=', 'P7')
      .executeTakeFirstOrThrow();
    expect(new Date(channelOf(await explain('P7'), 0, 'email').since as unknown as string).getTime()).toBe(
      p7.restricted_at?.getTime(),
    );
  });

  it('says when the audience rule did not match, and that the erased person still has an answer', async () => {
    const p50 = await explain('P50');
    expect(p50.runs).toHaveLength(2);
    expect(
      p50.runs.every((r) => !r.selected && r.channels.every((c) => c.outcome === 'not_in_audience')),
    ).toBe(true);
    const erased = await explain(ERASED_CLIENT);
    expect(erased.person.erased).toBe(true);
    expect(erased.now).toBeNull();
  });

  it('names the offer and why for the selected, the N9 non-personalised reason, quiet hours and each message’s fate', async () => {
    const p1 = await explain('P1');
    const email = channelOf(p1, 0, 'email');
    expect(email).toMatchObject({ outcome: 'selected', match: { offer_key: 'basic', rule: 'none' } });
    expect(email.message).toMatchObject({ status: 'sent', attempts: 2 });
    expect(email.message?.events.map((e) => e.type)).toContain('sent');

    const p3 = channelOf(await explain('P3'), 0, 'email');
    expect(p3.message).toMatchObject({ status: 'indeterminate', resolution: null });

    const p15 = channelOf(await explain('P15'), 0, 'push');
    expect(p15.match).toMatchObject({ offer_key: 'travel', rule: 'eligibility' });
    expect(p15.text).toMatch(/eligibility rule matched/);

    const p29 = channelOf(await explain('P29'), 0, 'email');
    expect(p29.match).toMatchObject({ non_personalised_only: true });
    expect(p29.text).toMatch(/objected to profiling on .*only non-personalised offers/);

    const p52 = channelOf(await explain('P52'), 0, 'email');
    expect(p52.message).toMatchObject({ status: 'queued' });
    expect(p52.message?.not_before).not.toBeNull();
    expect(p52.text).toMatch(/held for quiet hours \(N15\) until/);

    const p5 = channelOf(await explain('P5'), 0, 'email');
    expect(p5.message?.events.map((e) => e.type)).toEqual(expect.arrayContaining(['opened', 'clicked']));
  });

  it('only the asked run with ?run=, and a campaign that never ran is evaluated now by the run’s planning', async () => {
    const only = await explain('P1', `&run=${s.runs[1]}`);
    expect(only.runs.map((r) => r.run_id)).toEqual([s.runs[1]]);
    expect(only.now).toBeNull();

    const fresh = await defineCampaign(s.api.deps, {
      name: 'not yet run',
      purpose: 'service_offers',
      channels: ['email', 'sms'],
      quiet_hours: '00:00-00:00',
    });
    const p7 = await explain('P7', '', fresh.id);
    expect(p7.runs).toEqual([]);
    expect(p7.now?.channels.map((c) => [c.outcome, c.reason])).toEqual([
      ['excluded', 'restricted'],
      ['excluded', 'restricted'],
    ]);
    // P12 had two messages this week: the default cap (2/7d, .env.example) holds, as a run would apply it
    const p12 = await explain('P12', '', fresh.id);
    expect(p12.now?.channels.map((c) => [c.outcome, c.reason])).toEqual([
      ['excluded', 'frequency_cap'],
      ['excluded', 'frequency_cap'],
    ]);
    // P3's e-mails ended indeterminate (lost answers): they may have reached P3, so they count
    // against the cap like sent ones until an operator resolves them as not sent (N15)
    const p3 = await explain('P3', '', fresh.id);
    expect(p3.now?.channels.find((c) => c.channel === 'email')).toMatchObject({
      outcome: 'excluded',
      reason: 'frequency_cap',
    });
  });

  it('is audited as a read of personal data, with the actor and the reason', async () => {
    await explain('P1');
    const entry = await s.api.deps.db
      .selectFrom('audit_log')
      .select(['actor_type', 'actor_id', 'reason', 'details', 'recipient_id'])
      .where('action', '=', 'campaign.explain')
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    const p1 = await s.api.deps.db
      .selectFrom('recipients')
      .select('id')
      .where('client_number', '=', 'P1')
      .executeTakeFirstOrThrow();
    expect(entry).toMatchObject({
      actor_type: 'api_key',
      reason: 'person asked why (ticket 17)',
      recipient_id: p1.id,
      details: { campaign_id: s.campaignId, runs: [...s.runs] },
    });
  });

  it('answers 400 without a reason, 401 without a key, 403 with reports:read only, 404 for unknown things', async () => {
    const noReason = await s.api.app.inject({
      method: 'GET',
      url: `/v1/campaigns/${s.campaignId}/explain/P1?run=x`,
      headers: { authorization: `Bearer ${dsr}` },
    });
    expect(noReason.statusCode).toBe(400);
    expect((noReason.json() as { fields: { field: string }[] }).fields.map((f) => f.field).sort()).toEqual([
      'query/reason',
      'query/run',
    ]);
    const audits = await s.api.deps.db
      .selectFrom('audit_log')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('action', '=', 'campaign.explain')
      .executeTakeFirstOrThrow();
    expect(
      (await s.api.app.inject({ method: 'GET', url: `/v1/campaigns/${s.campaignId}/explain/P1?reason=why` }))
        .statusCode,
    ).toBe(401);
    expect((await explainReply('P1', '', await s.api.key(['reports:read']))).statusCode).toBe(403);
    expect((await explainReply('NOBODY')).statusCode).toBe(404);
    expect((await explainReply('P1', '', dsr, 999_999)).statusCode).toBe(404);
    const other = await defineCampaign(s.api.deps, {
      name: 'other',
      purpose: 'service_offers',
      channels: ['email'],
    });
    expect((await explainReply('P1', `&run=${s.runs[0]}`, dsr, other.id)).statusCode).toBe(404);
    const after = await s.api.deps.db
      .selectFrom('audit_log')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('action', '=', 'campaign.explain')
      .executeTakeFirstOrThrow();
    expect(Number(after.n)).toBe(Number(audits.n)); // refused reads record nothing
  });
});
