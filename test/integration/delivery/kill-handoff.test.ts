import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Config, loadConfig } from '../../../src/config/config.js';
import type { Channel } from '../../../src/domain/vocabulary.js';
import { sendQueuesOf } from '../../../src/queue/queues.js';
import { type Fakes, providerEnv, startFakes } from '../../fakes/fakes.js';
import { defineCampaign, openMessages, runNow } from '../../support/campaigns.js';
import { type RunningRole, startRole, waitFor } from '../../support/process.js';
import { seedOffer, seedReachableAudience } from '../../support/seed.js';
import { exampleEnv } from '../../support/service-env.js';
import { createTestApp, type TestApp } from '../../support/test-app.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';

/**
 * Issue 12, "done when": SIGKILL each channel worker mid-campaign, restart it. The workers and the
 * maintenance role are real processes at the default lease. Each fake answers a few messages, then
 * holds every new one; once a worker's whole hand-off capacity is held at its fake (and nothing else of
 * it is in flight), the worker is killed. The fake counts the calls it had open at that moment; the
 * killed process's connections close, as a dead client's do. Then the workers start again.
 */

const CHANNELS = ['email', 'sms', 'push'] as const satisfies readonly Channel[];
/** People in the campaign; each gets one message on every channel. */
const PEOPLE = 200;
/** Messages of each channel its fake answers before it holds every new one. */
const ANSWERED_FIRST = 30;
const TERMINAL_WITHIN_MS = 60_000;

interface AtKill {
  readonly channel: Channel;
  /** Provider calls open at the fake when the worker was killed (started, not answered). */
  readonly open: number;
}

describe('channel workers killed mid-send', () => {
  let t: TestDatabase;
  let fakes: Fakes;
  let api: TestApp;
  let env: Record<string, string>;
  let config: Config;
  const children: RunningRole[] = [];

  beforeAll(async () => {
    t = await createTestDatabase();
    fakes = await startFakes();
    const providers = { ...providerEnv(fakes.ports), QUIET_HOURS_DEFAULT: '00:00-00:00' };
    api = await createTestApp(t, providers);
    // .env.example names the lease; the processes run without it, at the default.
    const example = Object.fromEntries(
      Object.entries(exampleEnv()).filter(([name]) => name !== 'SEND_LEASE_SECONDS'),
    );
    env = {
      ...example,
      ...providers,
      DATABASE_URL: t.appUrl,
      REDIS_URL: inject('services').redisUrl,
      QUEUE_PREFIX: api.config.redis.queuePrefix,
      LOG_LEVEL: 'warn',
    };
    const loaded = loadConfig(env);
    if (!loaded.ok) throw new Error(`invalid role configuration: ${JSON.stringify(loaded.problems)}`);
    config = loaded.config;
    await seedReachableAudience(api.deps.db, PEOPLE);
    await seedOffer(api.deps.db, { key: 'general' });
  });
  afterAll(async () => {
    for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGKILL');
    await Promise.all(children.map((c) => c.exited));
    await api.close();
    await fakes.close();
    await t.drop();
  });

  const start = (role: string): RunningRole => {
    const child = startRole([role], env);
    children.push(child);
    return child;
  };
  /** What a channel worker can have in flight: its sender's hand-off slots (worker.ts). */
  const capacity = (channel: Channel) =>
    Math.min(config.policy.handoff[channel], config.policy.workerConcurrency);
  /** Messages `sending` whose hand-off mark is written: their provider call has started. */
  const handedOff = async (runId: number, channel: Channel): Promise<number> => {
    const row = await api.deps.db
      .selectFrom('messages as m')
      .innerJoin('send_handoffs as h', (j) =>
        j.onRef('h.message_id', '=', 'm.id').onRef('h.claim_batch', '=', 'm.claim_batch'),
      )
      .select(sql<number>`count(*)::int`.as('n'))
      .where('m.run_id', '=', runId)
      .where('m.channel', '=', channel)
      .where('m.status', '=', 'sending')
      .where('h.kind', '=', 'started')
      .executeTakeFirstOrThrow();
    return row.n;
  };

  /**
   * Kills the channel's worker once its fake holds every hand-off slot and no other message of it is
   * in flight (answered and not yet recorded): a kill mid-send whose calls the fake can count.
   */
  const killWhenEveryHandoffIsHeld = async (
    channel: Channel,
    worker: RunningRole,
    runId: number,
  ): Promise<AtKill> => {
    await waitFor(
      `every ${channel} hand-off slot held at the fake`,
      async () => {
        const { open, held } = fakes.open(channel).count;
        // every handed-off message is one the fake holds (none answered and not yet recorded);
        // messages claimed ahead of a free slot are `sending` without a mark: released after the kill
        return held === capacity(channel) && open === held && (await handedOff(runId, channel)) === held;
      },
      60_000,
    );
    const { open } = fakes.open(channel).count;
    worker.child.kill('SIGKILL');
    await worker.exited;
    return { channel, open };
  };

  it('a worker killed while its provider holds every hand-off leaves at most those calls indeterminate; restarted, it ends every message within 60 s and sends none twice', async () => {
    for (const channel of CHANNELS) {
      expect(PEOPLE, `${channel}: enough messages to fill the hand-off`).toBeGreaterThan(
        ANSWERED_FIRST + capacity(channel),
      );
      fakes.faults(channel).add({ fault: { type: 'delay', ms: 0 }, times: ANSWERED_FIRST });
      fakes.faults(channel).add({ fault: { type: 'hold' } });
    }
    const campaign = await defineCampaign(api.deps, {
      name: 'killed mid-send',
      purpose: 'service_offers',
      channels: [...CHANNELS],
      quiet_hours: '00:00-00:00',
      frequency_cap: '4/7d',
    });
    const { runId } = await runNow(api.deps, campaign.id);
    expect(await openMessages(api.deps, runId)).toBe(PEOPLE * CHANNELS.length);

    const maintenance = start('maintenance');
    const first = CHANNELS.map((channel) => ({ channel, worker: start(channel) }));
    const atKill = await Promise.all(
      first.map(({ channel, worker }) => killWhenEveryHandoffIsHeld(channel, worker, runId)),
    );
    // A dead client's connections close: the fakes see it and answer none of the held calls.
    await waitFor(
      'the fakes to see the killed workers’ connections close',
      async () => CHANNELS.every((channel) => fakes.open(channel).count.open === 0),
      10_000,
    );
    for (const channel of CHANNELS) fakes.faults(channel).clear();

    const restartedAt = performance.now();
    const second = CHANNELS.map((channel) => start(channel));
    await waitFor(
      'every message of the run to be terminal',
      async () => (await openMessages(api.deps, runId)) === 0,
      TERMINAL_WITHIN_MS,
    );
    const secondsToTerminal = (performance.now() - restartedAt) / 1000;
    expect(secondsToTerminal).toBeLessThanOrEqual(TERMINAL_WITHIN_MS / 1000);
    // The killed workers' jobs come back (stalled) and must find nothing to send: wait for them too.
    const queues = sendQueuesOf(api.deps);
    await waitFor(
      'every send job to finish',
      async () => {
        const left = await Promise.all(
          CHANNELS.map((c) => queues[c].getJobCountByTypes('wait', 'active', 'delayed', 'prioritized')),
        );
        return left.every((n) => n === 0);
      },
      60_000,
    );
    for (const role of [...second, maintenance]) role.child.kill('SIGTERM');
    expect(await Promise.all([...second, maintenance].map((r) => r.exited))).toEqual([0, 0, 0, 0]);

    const messages = await api.deps.db
      .selectFrom('messages')
      .select(['id', 'channel', 'status'])
      .where('run_id', '=', runId)
      .execute();
    const deliveries = new Map<string, string[]>();
    for (const d of fakes.log.entries()) {
      if (!d.delivered || d.messageId === null) continue;
      deliveries.set(d.messageId, [...(deliveries.get(d.messageId) ?? []), d.handling]);
    }
    const figures = atKill.map(({ channel, open }) => {
      const mine = messages.filter((m) => m.channel === channel);
      const indeterminate = mine.filter((m) => m.status === 'indeterminate').length;
      const sent = mine.filter((m) => m.status === 'sent').length;
      return { channel, openAtKill: open, indeterminate, sent };
    });
    console.info(
      `killed mid-send (lease ${config.policy.sendLeaseSeconds} s): ${figures
        .map((f) => `${f.channel} ${f.openAtKill} open at the kill, ${f.indeterminate} indeterminate`)
        .join('; ')}; every message terminal ${secondsToTerminal.toFixed(1)} s after the restart`,
    );

    for (const f of figures) {
      expect(f.openAtKill, `${f.channel}: calls open at the kill`).toBe(capacity(f.channel));
      expect(f.indeterminate, `${f.channel}: indeterminate`).toBeLessThanOrEqual(f.openAtKill);
    }
    // Only what may have reached a provider is indeterminate: each was a call held open at the kill.
    const indeterminate = messages.filter((m) => m.status === 'indeterminate');
    expect(indeterminate.filter((m) => deliveries.get(String(m.id))?.join() !== 'held')).toEqual([]);
    // Everything else was sent, exactly once.
    expect(messages.filter((m) => m.status !== 'sent' && m.status !== 'indeterminate')).toEqual([]);
    const notOnce = messages
      .filter((m) => m.status === 'sent')
      .map((m) => ({ id: m.id, channel: m.channel, deliveries: deliveries.get(String(m.id)) ?? [] }))
      .filter((m) => m.deliveries.length !== 1);
    expect(notOnce).toEqual([]);
    expect([...deliveries].filter(([, handled]) => handled.length > 1)).toEqual([]);
  }, 180_000);
});
