import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimBatch } from '../../../src/delivery/claim.js';
import { markHandoff } from '../../../src/delivery/handoff.js';
import { reconcile } from '../../../src/delivery/reconciler.js';
import { sendQueuesOf } from '../../../src/queue/queues.js';
import { campaignReport } from '../../../src/reports/report.js';
import { defineCampaign, runNow } from '../../support/campaigns.js';
import { seedAudience, seedOffer } from '../../support/seed.js';
import { createTestApp, type TestApp } from '../../support/test-app.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';

describe('the reconciler', () => {
  let t: TestDatabase;
  let api: TestApp;
  beforeAll(async () => {
    t = await createTestDatabase();
    api = await createTestApp(t);
    await seedAudience(api.deps.db, 200);
    await seedOffer(api.deps.db, { key: 'general' });
  });
  afterAll(async () => {
    await api.close();
    await t.drop();
  });

  const reconcileNow = () =>
    reconcile(api.deps.db, api.deps.redis, sendQueuesOf(api.deps), {
      queuePrefix: api.config.redis.queuePrefix,
      graceSeconds: 0,
      batch: 50,
    });

  /** Runs a one-channel e-mail campaign now; its messages in recipient order. */
  async function emailRun(name: string) {
    const campaign = await defineCampaign(api.deps, {
      name,
      purpose: 'service_offers',
      channels: ['email'],
      quiet_hours: '00:00-00:00',
    });
    const { runId } = await runNow(api.deps, campaign.id);
    const messages = await api.deps.db
      .selectFrom('messages')
      .select(['id', 'recipient_id'])
      .where('run_id', '=', runId)
      .orderBy('recipient_id')
      .execute();
    return { runId, messages };
  }

  const settings = () => ({
    leaseSeconds: 60,
    pausedRetrySeconds: 30,
    policy: { ...api.config.policy, quietHours: { startMinute: 0, endMinute: 0 } },
  });
  const expireLease = (id: number) =>
    sql`UPDATE messages SET lease_expires_at = now() - interval '1 second' WHERE id = ${id}`.execute(
      api.deps.db,
    );
  const rowOf = (id: number) =>
    api.deps.db
      .selectFrom('messages')
      .select(['status', 'error_code', 'attempts', 'claim_batch'])
      .where('id', '=', id)
      .executeTakeFirstOrThrow();

  it('marks a message indeterminate when its provider call had started and its lease ran out, and never enqueues it again', async () => {
    const [message] = (await emailRun('lease')).messages;
    if (!message) throw new Error('the run made no messages');
    const [claimed] = await claimBatch(api.deps.pool, 'email', [message.id], settings());
    expect(claimed?.claim).toEqual({ kind: 'claimed', attempt: 1 });
    if (claimed?.batch === undefined) throw new Error('no claim batch');
    // the worker marked the hand-off, started the provider call and died: its lease runs out
    expect(await markHandoff(api.deps.pool, { batch: claimed.batch, messageId: message.id })).toBe(true);
    await expireLease(message.id);
    await sendQueuesOf(api.deps).email.remove(`m${message.id}`);
    // until the reconciler settles it, the campaign's report says a message waits on a dead worker
    const campaignId = (
      await api.deps.db
        .selectFrom('messages')
        .select('campaign_id')
        .where('id', '=', message.id)
        .executeTakeFirstOrThrow()
    ).campaign_id;
    const before = await campaignReport(api.deps.db, campaignId);
    expect(before.holds.expired_leases.messages).toBe(1);
    expect(before.holds.expired_leases.since).toBeInstanceOf(Date);

    const result = await reconcileNow();
    expect(result).toMatchObject({ indeterminate: 1, released: 0 });
    expect(await rowOf(message.id)).toMatchObject({ status: 'indeterminate', error_code: 'lease_expired' });
    expect(await sendQueuesOf(api.deps).email.getJob(`m${message.id}`)).toBeUndefined();
    expect((await reconcileNow()).indeterminate).toBe(0);
    expect((await campaignReport(api.deps.db, campaignId)).holds.expired_leases).toEqual({
      messages: 0,
      since: null,
    });
  });

  it('puts a claimed message whose provider call never started back to queued, enqueues it, and refuses the late hand-off', async () => {
    const [message] = (await emailRun('never started')).messages;
    if (!message) throw new Error('the run made no messages');
    const [claimed] = await claimBatch(api.deps.pool, 'email', [message.id], settings());
    if (claimed?.batch === undefined) throw new Error('no claim batch');
    // the worker died (or hung past its lease) between the claim and the hand-off
    await expireLease(message.id);
    await sendQueuesOf(api.deps).email.remove(`m${message.id}`);

    expect(await reconcileNow()).toMatchObject({ indeterminate: 0, released: 1 });
    expect(await rowOf(message.id)).toEqual({
      status: 'queued',
      error_code: null,
      attempts: 0,
      claim_batch: null,
    });
    expect(await sendQueuesOf(api.deps).email.getJob(`m${message.id}`)).toBeDefined();
    // the old worker wakes up: its mark conflicts with the release, so it sends nothing
    expect(await markHandoff(api.deps.pool, { batch: claimed.batch, messageId: message.id })).toBe(false);
    // and the message is claimed again, in a new batch, by whoever takes its job
    const [again] = await claimBatch(api.deps.pool, 'email', [message.id], settings());
    expect(again?.claim).toEqual({ kind: 'claimed', attempt: 1 });
    expect(again?.batch).not.toBe(claimed.batch);
  });

  it('enqueues again exactly the queued messages whose jobs Redis lost', async () => {
    const { messages } = await emailRun('lost');
    expect(messages.length).toBeGreaterThan(100);
    const queue = sendQueuesOf(api.deps).email;
    // Redis loses the jobs of every third message
    const lost = messages.filter((_, i) => i % 3 === 0).map((m) => m.id);
    for (const id of lost) expect(await queue.remove(`m${id}`)).toBe(1);
    expect((await reconcileNow()).reenqueued).toBe(lost.length);
    for (const id of lost) expect(await queue.getJob(`m${id}`)).toBeDefined();
    const again = await reconcileNow();
    expect(again.reenqueued).toBe(0);
  });

  it('leaves to the runner a chunk it has written but not yet enqueued', async () => {
    const { runId, messages } = await emailRun('in flight');
    const queue = sendQueuesOf(api.deps).email;
    for (const m of messages) expect(await queue.remove(`m${m.id}`)).toBe(1);
    // as if the runner had written every row but enqueued only the first half when we looked
    const half = messages[Math.floor(messages.length / 2)];
    if (!half) throw new Error('no messages');
    await api.deps.db
      .updateTable('campaign_runs')
      .set({ status: 'running', enqueued_through_recipient_id: half.recipient_id - 1 })
      .where('id', '=', runId)
      .execute();
    const enqueued = messages.filter((m) => m.recipient_id < half.recipient_id);
    expect((await reconcileNow()).reenqueued).toBe(enqueued.length);
    for (const m of messages) {
      expect(await queue.getJob(`m${m.id}`), `message ${m.id}`).toSatisfy((job) =>
        m.recipient_id < half.recipient_id ? job !== undefined : job === undefined,
      );
    }
  });
});
