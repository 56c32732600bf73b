import type { Queue } from 'bullmq';
import { type RawBuilder, sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pauseCampaign, resumeCampaign, runCampaignNow } from '../../../src/campaigns/lifecycle.js';
import { CHANNELS, type Channel, type Purpose } from '../../../src/domain/vocabulary.js';
import { emergencyResume, emergencyStop, type StopScope } from '../../../src/ops/emergency-stop.js';
import { openStops } from '../../../src/ops/stops.repository.js';
import { SEND_QUEUES } from '../../../src/queue/names.js';
import type { Delivery } from '../../fakes/delivery-log.js';
import { defineCampaign, runInProcess, submitAndApprove } from '../../support/campaigns.js';
import { waitFor } from '../../support/process.js';
import { seedAudience, seedOffer } from '../../support/seed.js';
import { type Stack, startStack } from '../../support/stack.js';

const OPS = { type: 'operator', id: 'ops-on-call' } as const;

/**
 * Whether a send happened after a stop or a pause is decided by the database, never by a clock in
 * this process or by a quiet period: a stop's `stopped_at` and a pause's `paused_at` are the database
 * clock once it held its row lock, and a message's `claimed_at` the database clock at its claim's
 * decision (migration 0017), so "claimed before" is a comparison of the two, made in PostgreSQL
 * (microseconds). What the fakes received is tied to the database by its message ids.
 */
describe('pause, resume and emergency stop with real channel worker processes (counted at the fakes)', () => {
  let s: Stack;

  beforeAll(async () => {
    s = await startStack();
    await seedAudience(s.api.deps.db, 600, 'service_offers', 'P');
    await seedAudience(s.api.deps.db, 600, 'contests', 'Q');
    await seedAudience(s.api.deps.db, 600, 'partner_offers', 'R');
    await seedOffer(s.api.deps.db, { key: 'general' });
    await seedOffer(s.api.deps.db, { key: 'contest', purpose: 'contests' });
    await seedOffer(s.api.deps.db, { key: 'partner', purpose: 'partner_offers' });
    // slow providers, so that there is sending to interrupt
    for (const channel of ['email', 'sms', 'push'] as const)
      s.fakes.faults(channel).add({ fault: { type: 'delay', ms: 30 } });
    for (const role of ['email', 'sms', 'push']) s.start(role);
  });
  // a test that fails with a stop open must not hold the next one
  afterEach(async () => {
    for (const stop of await openStops(s.api.deps.db))
      await emergencyResume(s.api.deps, OPS, 'test over', stop.scope);
  });
  afterAll(() => s.close());

  const db = () => s.api.deps.db;
  const counts = async (campaignId: number, channel?: Channel) => {
    let query = db()
      .selectFrom('messages')
      .select(['status', sql<number>`count(*)::int`.as('n')])
      .where('campaign_id', '=', campaignId);
    if (channel !== undefined) query = query.where('channel', '=', channel);
    const rows = await query.groupBy('status').execute();
    return Object.fromEntries(rows.map((r) => [r.status, r.n])) as Record<string, number>;
  };
  const launch = async (name: string, purpose: Purpose) => {
    const c = await defineCampaign(s.api.deps, {
      name,
      purpose,
      channels: ['email', 'sms', 'push'],
      frequency_cap: '4/7d',
    });
    await submitAndApprove(s.api.deps, c.id);
    const { runId } = await runCampaignNow(s.api.deps, c.id, OPS);
    await runInProcess(s.api.deps, runId);
    const total = Object.values(await counts(c.id)).reduce((a, b) => a + b, 0);
    return { id: c.id, runId, total };
  };
  /** Every message of the run reached its provider exactly once, and is recorded sent. */
  const expectEachSentOnce = async (runId: number, total: number) => {
    const sent = await db()
      .selectFrom('messages')
      .select('id')
      .where('run_id', '=', runId)
      .where('status', '=', 'sent')
      .execute();
    expect(sent).toHaveLength(total);
    for (const m of sent)
      expect(s.fakes.log.deliveredCount({ messageId: String(m.id) }), `message ${m.id}`).toBe(1);
  };
  const deliveredOf = (ids: Set<string>) =>
    s.fakes.log.entries().filter((d) => d.delivered && d.messageId !== null && ids.has(d.messageId));
  const idsOf = async (runId: number) =>
    new Set(
      (await db().selectFrom('messages').select('id').where('run_id', '=', runId).execute()).map((m) =>
        String(m.id),
      ),
    );

  const idsDelivered = (deliveries: readonly Delivery[]) =>
    deliveries.flatMap((d) => (d.messageId === null ? [] : [Number(d.messageId)]));
  /** Queued messages no worker has looked at yet (a look defers them: not_before is set). */
  const neverLookedAt = async (campaignId: number, channel?: Channel) => {
    let query = db()
      .selectFrom('messages')
      .select(sql<number>`count(*)::int`.as('n'))
      .where('campaign_id', '=', campaignId)
      .where('status', '=', 'queued')
      .where('not_before', 'is', null);
    if (channel !== undefined) query = query.where('channel', '=', channel);
    return (await query.executeTakeFirstOrThrow()).n;
  };
  const sendQueue = (channel: Channel): Queue => {
    const queue = s.api.deps.queues.get(SEND_QUEUES[channel]);
    if (!queue) throw new Error(`no ${channel} send queue`);
    return queue;
  };
  const openStopId = async (scope: StopScope) => {
    const row = await db()
      .selectFrom('send_stop_scopes')
      .select('open_stop_id')
      .where('scope', '=', scope)
      .executeTakeFirstOrThrow();
    if (row.open_stop_id === null) throw new Error(`no open stop of ${scope}`);
    return Number(row.open_stop_id);
  };
  const stoppedAt = (stopId: number) =>
    sql<Date>`(SELECT e.stopped_at FROM emergency_stops e WHERE e.id = ${stopId}::bigint)`;
  const pausedAt = (campaignId: number) =>
    sql<Date>`(SELECT c.paused_at FROM campaigns c WHERE c.id = ${campaignId}::bigint)`;
  /**
   * The messages of the campaign claimed at or after `bound` (given `ids`: those of them not claimed
   * before it, never claimed included). A missing bound counts every claim.
   */
  const claimedAtOrAfter = async (campaignId: number, bound: RawBuilder<Date>, ids?: readonly number[]) => {
    const { rows } = await sql<{ id: number; channel: Channel }>`
      SELECT m.id, m.channel FROM messages m
      WHERE m.campaign_id = ${campaignId}::bigint AND (m.claimed_at < ${bound}) IS NOT TRUE
        AND ${ids === undefined ? sql`m.claimed_at IS NOT NULL` : sql`m.id = ANY (${[...ids]}::bigint[])`}
      ORDER BY m.id
    `.execute(db());
    return rows;
  };
  /** The messages of the campaign, on channels the stop covers, claimed while it was open. */
  const claimedWhileStopped = async (campaignId: number, stopId: number) => {
    const { rows } = await sql<{ id: number; channel: Channel }>`
      SELECT m.id, m.channel FROM messages m JOIN emergency_stops e ON e.id = ${stopId}::bigint
      WHERE m.campaign_id = ${campaignId}::bigint AND (e.channel IS NULL OR m.channel = e.channel)
        AND m.claimed_at >= e.stopped_at AND (e.resumed_at IS NULL OR m.claimed_at < e.resumed_at)
      ORDER BY m.id
    `.execute(db());
    return rows;
  };

  it('pause then resume loses nothing and sends nothing twice, and nothing is claimed after the pause', async () => {
    const c = await launch('pausable', 'service_offers');
    expect(c.total).toBeGreaterThan(500);
    await waitFor(
      'some messages to be sent',
      async () => ((await counts(c.id)).sent ?? 0) > c.total / 10,
      60_000,
    );
    await pauseCampaign(s.api.deps, c.id, OPS, 'check the copy');
    // every message still queued is looked at by a worker and deferred (not_before set), none sent
    await waitFor(
      'the workers to defer every queued message',
      async () => {
        const left = await db()
          .selectFrom('messages')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('campaign_id', '=', c.id)
          .where((eb) =>
            eb.or([
              eb('status', '=', 'sending'),
              eb.and([eb('status', '=', 'queued'), eb('not_before', 'is', null)]),
            ]),
          )
          .executeTakeFirstOrThrow();
        return Number(left.n) === 0;
      },
      60_000,
    );
    // Order from the database: paused_at is the database clock once the pause held the campaign row,
    // so every claim decided before it committed before the pause. (The audit entry's occurred_at and
    // updated_at are now(), the pause transaction's start, before it waited for the row: a claim can
    // commit after that and still be ordered before the pause, so they are no bound.)
    expect(await claimedAtOrAfter(c.id, pausedAt(c.id))).toEqual([]);
    const ids = await idsOf(c.runId);
    const whilePaused = deliveredOf(ids);
    expect(await claimedAtOrAfter(c.id, pausedAt(c.id), idsDelivered(whilePaused))).toEqual([]);
    const held = await counts(c.id);
    expect(held.queued ?? 0).toBeGreaterThan(0);
    expect(whilePaused).toHaveLength(held.sent ?? 0);

    const resumed = await resumeCampaign(s.api.deps, c.id, OPS);
    expect(resumed.after.status).toBe('running');
    await waitFor(
      'every message to be sent',
      async () => ((await counts(c.id)).sent ?? 0) === c.total,
      90_000,
    );
    await expectEachSentOnce(c.runId, c.total);
  }, 240_000);

  it('a stop of every channel mid-send: nothing is claimed after it, a queue resumed from the board sends nothing, and resume sends each message once', async () => {
    const c = await launch('stoppable', 'contests');
    await waitFor(
      'some messages to be sent',
      async () => ((await counts(c.id)).sent ?? 0) > c.total / 10,
      60_000,
    );
    const stop = await emergencyStop(s.api.deps, OPS, 'drill');
    expect(stop.queues_paused).toEqual({ email: true, sms: true, push: true });
    const stopId = await openStopId('all');
    // what the workers had in hand ends
    await waitFor('messages in flight to end', async () => ((await counts(c.id)).sending ?? 0) === 0, 30_000);
    // order from the database: no claim decided at or after the stop's stopped_at, and everything the
    // fakes got was claimed before it
    expect(await claimedWhileStopped(c.id, stopId)).toEqual([]);
    const ids = await idsOf(c.runId);
    const atStop = deliveredOf(ids);
    expect(atStop.length).toBeGreaterThan(0);
    expect(await claimedAtOrAfter(c.id, stoppedAt(stopId), idsDelivered(atStop))).toEqual([]);
    const queued = (await counts(c.id)).queued ?? 0;
    expect(queued).toBeGreaterThan(0);

    // Someone resumes the send queues from the queue board (what its resume button does) while the
    // stop is open: the workers take every waiting job, and every claim defers its message.
    const waiting = await neverLookedAt(c.id);
    expect(waiting).toBeGreaterThan(0);
    await Promise.all(CHANNELS.map((channel) => sendQueue(channel).resume()));
    await waitFor(
      'the workers to take every waiting job and defer its message',
      async () => (await neverLookedAt(c.id)) === 0 && ((await counts(c.id)).sending ?? 0) === 0,
      60_000,
    );
    expect(await claimedWhileStopped(c.id, stopId)).toEqual([]);
    expect(deliveredOf(ids)).toHaveLength(atStop.length);
    expect((await counts(c.id)).queued ?? 0).toBe(queued);

    const resumed = await emergencyResume(s.api.deps, OPS);
    expect(resumed).toMatchObject({ stopped: false, changed: true });
    await waitFor(
      'every message to be sent',
      async () => ((await counts(c.id)).sent ?? 0) === c.total,
      90_000,
    );
    await expectEachSentOnce(c.runId, c.total);
    expect(await claimedWhileStopped(c.id, stopId)).toEqual([]);
    const recorded = await db()
      .selectFrom('emergency_stops')
      .selectAll()
      .where('id', '=', stopId)
      .executeTakeFirstOrThrow();
    expect(recorded).toMatchObject({
      channel: null,
      stopped_by: 'ops-on-call',
      reason: 'drill',
      resumed_by: 'ops-on-call',
    });
  }, 240_000);

  it('a stop of e-mail alone mid-send: SMS and push end sent while e-mail stays queued, none claimed after the stop, its queue resumed from the board or not', async () => {
    const c = await launch('email-stoppable', 'partner_offers');
    await waitFor(
      'some e-mail messages to be sent',
      async () => ((await counts(c.id, 'email')).sent ?? 0) > 20,
      60_000,
    );
    const stop = await emergencyStop(s.api.deps, OPS, 'smtp incident', 'email');
    expect(stop.channels_stopped).toEqual({ email: true, sms: false, push: false });
    expect(stop.queues_paused).toEqual({ email: true, sms: false, push: false });
    const stopId = await openStopId('email');
    // the e-mail queue resumed from the board at once: only the claim holds e-mail back
    expect(await neverLookedAt(c.id, 'email')).toBeGreaterThan(0);
    await sendQueue('email').resume();
    const done = (n: Record<string, number>) => (n.queued ?? 0) === 0 && (n.sending ?? 0) === 0;
    await waitFor(
      'SMS and push to be done, and the e-mail workers to take every waiting job and defer its message',
      async () =>
        done(await counts(c.id, 'sms')) &&
        done(await counts(c.id, 'push')) &&
        (await neverLookedAt(c.id, 'email')) === 0 &&
        ((await counts(c.id, 'email')).sending ?? 0) === 0,
      90_000,
    );
    for (const channel of ['sms', 'push'] as const) {
      const n = await counts(c.id, channel);
      expect(Object.keys(n), channel).toEqual(['sent']);
    }
    expect((await counts(c.id, 'email')).queued ?? 0).toBeGreaterThan(0);
    // the e-mail stop covers e-mail alone: no e-mail claim after it, SMS and push claims went on
    expect(await claimedWhileStopped(c.id, stopId)).toEqual([]);
    const after = await claimedAtOrAfter(c.id, stoppedAt(stopId));
    expect(after.length).toBeGreaterThan(0);
    expect(new Set(after.map((m) => m.channel))).not.toContain('email');
    const ids = await idsOf(c.runId);
    const emailDelivered = deliveredOf(ids).filter((d) => d.channel === 'email');
    expect(await claimedAtOrAfter(c.id, stoppedAt(stopId), idsDelivered(emailDelivered))).toEqual([]);

    const resumed = await emergencyResume(s.api.deps, OPS, 'smtp is back', 'email');
    expect(resumed).toMatchObject({ stopped: false, changed: true });
    await waitFor(
      'every message to be sent',
      async () => ((await counts(c.id)).sent ?? 0) === c.total,
      90_000,
    );
    await expectEachSentOnce(c.runId, c.total);
    expect(await claimedWhileStopped(c.id, stopId)).toEqual([]);
  }, 240_000);
});
