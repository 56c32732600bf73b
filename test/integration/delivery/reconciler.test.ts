import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendQueuesOf } from '../../../src/campaigns/runner-role.js';
import { claimMessages } from '../../../src/delivery/claim.js';
import { reconcile } from '../../../src/delivery/reconciler.js';
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

  it('marks a message left sending past its lease indeterminate and never enqueues it again', async () => {
    const [message] = (await emailRun('lease')).messages;
    if (!message) throw new Error('the run made no messages');
    const settings = {
      leaseSeconds: 60,
      pausedRetrySeconds: 30,
      policy: { ...api.config.policy, quietHours: { startMinute: 0, endMinute: 0 } },
    };
    expect(await claimMessages(api.deps.pool, 'email', [message.id], settings)).toEqual([
      { kind: 'claimed', attempt: 1 },
    ]);
    // the worker died after the provider may have accepted it: its lease runs out
    await sql`UPDATE messages SET lease_expires_at = now() - interval '1 second' WHERE id = ${message.id}`.execute(
      api.deps.db,
    );
    await sendQueuesOf(api.deps).email.remove(`m${message.id}`);

    const result = await reconcileNow();
    expect(result.indeterminate).toBe(1);
    const row = await api.deps.db
      .selectFrom('messages')
      .select(['status', 'error_code'])
      .where('id', '=', message.id)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ status: 'indeterminate', error_code: 'lease_expired' });
    expect(await sendQueuesOf(api.deps).email.getJob(`m${message.id}`)).toBeUndefined();
    expect((await reconcileNow()).indeterminate).toBe(0);
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
