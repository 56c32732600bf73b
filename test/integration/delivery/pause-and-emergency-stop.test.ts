import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pauseCampaign, resumeCampaign, runCampaignNow } from '../../../src/campaigns/lifecycle.js';
import type { Purpose } from '../../../src/domain/vocabulary.js';
import { emergencyResume, emergencyStop } from '../../../src/ops/emergency-stop.js';
import { defineCampaign, runInProcess, submitAndApprove } from '../../support/campaigns.js';
import { waitFor } from '../../support/process.js';
import { seedAudience, seedOffer } from '../../support/seed.js';
import { type Stack, startStack } from '../../support/stack.js';

const OPS = { type: 'operator', id: 'ops-on-call' } as const;

describe('pause, resume and emergency stop with real channel worker processes (counted at the fakes)', () => {
  let s: Stack;

  beforeAll(async () => {
    s = await startStack();
    await seedAudience(s.api.deps.db, 600, 'service_offers', 'P');
    await seedAudience(s.api.deps.db, 600, 'contests', 'Q');
    await seedOffer(s.api.deps.db, { key: 'general' });
    await seedOffer(s.api.deps.db, { key: 'contest', purpose: 'contests' });
    // slow providers, so that there is sending to interrupt
    for (const channel of ['email', 'sms', 'push'] as const)
      s.fakes.faults(channel).add({ fault: { type: 'delay', ms: 30 } });
    for (const role of ['email', 'sms', 'push']) s.start(role);
  });
  afterAll(() => s.close());

  const db = () => s.api.deps.db;
  const counts = async (campaignId: number) => {
    const rows = await db()
      .selectFrom('messages')
      .select(['status', sql<number>`count(*)::int`.as('n')])
      .where('campaign_id', '=', campaignId)
      .groupBy('status')
      .execute();
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

  it('pause then resume loses nothing and sends nothing twice', async () => {
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
    const ids = await idsOf(c.runId);
    const whilePaused = deliveredOf(ids).length;
    const held = await counts(c.id);
    expect(held.queued ?? 0).toBeGreaterThan(0);
    expect(whilePaused).toBe(held.sent ?? 0);

    const resumed = await resumeCampaign(s.api.deps, c.id, OPS);
    expect(resumed.after.status).toBe('running');
    await waitFor(
      'every message to be sent',
      async () => ((await counts(c.id)).sent ?? 0) === c.total,
      90_000,
    );
    await expectEachSentOnce(c.runId, c.total);
  }, 240_000);

  it('emergency stop halts every channel within a second; resume continues and nothing is sent twice', async () => {
    const c = await launch('stoppable', 'contests');
    await waitFor(
      'some messages to be sent',
      async () => ((await counts(c.id)).sent ?? 0) > c.total / 10,
      60_000,
    );
    const stop = await emergencyStop(s.api.deps, OPS, 'drill');
    const stoppedAt = Date.now();
    expect(stop.queues_paused).toEqual({ email: true, sms: true, push: true });
    // what the workers had in hand ends; then nothing moves
    await waitFor('messages in flight to end', async () => ((await counts(c.id)).sending ?? 0) === 0, 30_000);
    const ids = await idsOf(c.runId);
    const atStop = deliveredOf(ids);
    const last = Math.max(...atStop.map((d) => Date.parse(d.time)));
    expect(last - stoppedAt).toBeLessThan(1_000);
    const queued = (await counts(c.id)).queued ?? 0;
    expect(queued).toBeGreaterThan(0);
    // an observation window: the workers are up, their queues paused, the fakes receive nothing
    await new Promise((r) => setTimeout(r, 2_000));
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
    const stops = await db().selectFrom('emergency_stops').selectAll().execute();
    expect(stops).toHaveLength(1);
    expect(stops[0]).toMatchObject({ stopped_by: 'ops-on-call', reason: 'drill', resumed_by: 'ops-on-call' });
  }, 240_000);
});
