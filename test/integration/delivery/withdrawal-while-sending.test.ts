import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM } from '../../../src/auth/actor.js';
import { endAllGrants } from '../../../src/consent/ledger.js';
import type { ToSend } from '../../../src/delivery/content.js';
import { DEFAULT_WORKER_OPTIONS, startChannelWorker } from '../../../src/delivery/worker.js';
import type { Channel } from '../../../src/domain/vocabulary.js';
import { defineCampaign, openMessages, runNow } from '../../support/campaigns.js';
import { waitFor } from '../../support/process.js';
import { RecordingSender } from '../../support/recording-sender.js';
import { seedAudience, seedOffer } from '../../support/seed.js';
import { createTestApp, type TestApp } from '../../support/test-app.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';

describe('a withdrawal while a campaign is sending on all three channels (N13)', () => {
  let t: TestDatabase;
  let api: TestApp;

  beforeAll(async () => {
    t = await createTestDatabase();
    api = await createTestApp(t, { QUIET_HOURS_DEFAULT: '00:00-00:00' });
    await seedAudience(api.deps.db, 4_600);
    await seedOffer(api.deps.db, { key: 'general', priority: 1 });
  });
  afterAll(async () => {
    await api.close();
    await t.drop();
  });

  it('stops every message not claimed before the withdrawal committed, ordered by the database', async () => {
    const campaign = await defineCampaign(api.deps, {
      name: 'spring',
      purpose: 'service_offers',
      channels: ['email', 'sms', 'push'],
      quiet_hours: '00:00-00:00',
      frequency_cap: '4/7d',
    });
    const { runId } = await runNow(api.deps, campaign.id, { chunkSize: 1000 });
    const total = Number(
      (
        await api.deps.db
          .selectFrom('messages')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('run_id', '=', runId)
          .executeTakeFirstOrThrow()
      ).n,
    );
    expect(total).toBeGreaterThanOrEqual(5_000);

    const senders: Record<Channel, RecordingSender> = {
      email: new RecordingSender(8),
      sms: new RecordingSender(8),
      push: new RecordingSender(8),
    };
    const workers = (['email', 'sms', 'push'] as const).map((channel) =>
      startChannelWorker(api.deps, channel, senders[channel], {
        ...DEFAULT_WORKER_OPTIONS,
        concurrency: 20,
        ratePerSecond: 100_000,
      }),
    );
    const delivered = () => Object.values(senders).reduce((n, s) => n + s.delivered.length, 0);
    try {
      await waitFor('a third of the campaign to be sent', async () => delivered() > total / 3, 60_000);

      // Withdraw 150 people with messages still in flight (the queues drain roughly in id order, so
      // from the tail), on every channel, in one transaction. Inside it, after its locks are held,
      // the database says which of their messages were already claimed: a claim that has not
      // committed by then must see the withdrawal.
      // (plus 50 from the head, whose messages are out already).
      const people = await sql<{ id: number }>`
        (SELECT recipient_id AS id FROM messages WHERE run_id = ${runId} AND recipient_id % 10 IN (3, 7)
         GROUP BY recipient_id ORDER BY recipient_id DESC LIMIT 150)
        UNION
        (SELECT recipient_id FROM messages WHERE run_id = ${runId} AND recipient_id % 10 IN (3, 7)
         GROUP BY recipient_id ORDER BY recipient_id LIMIT 50)
      `.execute(api.deps.db);
      const withdrawn = people.rows.map((r) => Number(r.id));
      const claimedBefore = await api.deps.db.transaction().execute(async (trx) => {
        for (const recipientId of withdrawn) {
          await endAllGrants(trx, api.config.pseudonymSecret, {
            recipientId,
            action: 'withdraw',
            occurredAt: new Date(),
            source: 'app',
            actor: SYSTEM,
            evidence: {},
          });
        }
        const rows = await trx
          .selectFrom('messages')
          .select('id')
          .where('run_id', '=', runId)
          .where('recipient_id', 'in', withdrawn)
          .where('status', 'in', ['sending', 'sent'])
          .execute();
        return new Set(rows.map((r) => r.id));
      });

      await waitFor('every message to end', async () => (await openMessages(api.deps, runId)) === 0, 120_000);

      const ofWithdrawn = await api.deps.db
        .selectFrom('messages')
        .select(['id', 'status', 'skip_reason'])
        .where('run_id', '=', runId)
        .where('recipient_id', 'in', withdrawn)
        .execute();
      const deliveredIds = new Set(
        Object.values(senders).flatMap((s) => s.delivered.map((d) => d.messageId)),
      );
      let stopped = 0;
      for (const m of ofWithdrawn) {
        if (claimedBefore.has(m.id)) continue;
        stopped += 1;
        expect(deliveredIds.has(m.id), `message ${m.id} reached the provider after the withdrawal`).toBe(
          false,
        );
        expect(m).toMatchObject({ status: 'skipped', skip_reason: 'consent_withdrawn' });
      }
      // the withdrawal really did land mid-campaign: some were already out, many were stopped
      expect(claimedBefore.size).toBeGreaterThan(0);
      expect(stopped).toBeGreaterThan(50);

      // and nothing reached a provider twice, everything else was sent
      const all = Object.values(senders).flatMap((s) => s.delivered.map((d) => d.messageId));
      expect(new Set(all).size).toBe(all.length);
      const sent = await api.deps.db
        .selectFrom('messages')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('run_id', '=', runId)
        .where('status', '=', 'sent')
        .executeTakeFirstOrThrow();
      const statuses = await api.deps.db
        .selectFrom('messages')
        .select(['status', 'skip_reason', 'error_code', sql<number>`count(*)::int`.as('n')])
        .where('run_id', '=', runId)
        .groupBy(['status', 'skip_reason', 'error_code'])
        .execute();
      expect(Number(sent.n), JSON.stringify(statuses)).toBe(all.length);
      // N7: the e-mail carries the controller footer (N2) and a one-click unsubscribe (RFC 8058)
      const email = senders.email.delivered[0]?.message as Extract<ToSend, { channel: 'email' }> | undefined;
      expect(email?.headers['List-Unsubscribe-Post']).toBe('List-Unsubscribe=One-Click');
      expect(email?.text).toContain('40103303559');
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
    }
  }, 240_000);
});
