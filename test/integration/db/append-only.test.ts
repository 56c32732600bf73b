import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');
const NOTICE = 'Klīx paziņojums par personas datu apstrādi (tests)';

describe('consent evidence and the audit log are append-only for the application role (N11, N16)', () => {
  let t: TestDatabase;
  let recipientId: number;

  beforeAll(async () => {
    t = await createTestDatabase();
    await t.db
      .insertInto('notices')
      .values({
        version: '2022-03-01',
        locale: 'lv',
        effective_from: '2022-03-01T00:00:00Z',
        body: NOTICE,
        text_sha256: sha256(NOTICE),
      })
      .execute();
    const person = await t.db
      .insertInto('recipients')
      .values({ client_number: 'C-1', locale: 'lv' })
      .returning('id')
      .executeTakeFirstOrThrow();
    recipientId = person.id;
    await t.db
      .insertInto('audit_log')
      .values({ actor_type: 'system', actor_id: 'test', action: 'test.seeded', subject_type: 'test' })
      .execute();
  });
  afterAll(() => t.drop());

  async function event(
    action: 'grant' | 'withdraw' | 'lapse',
    occurredAt: string,
    channel: 'email' | 'sms' = 'email',
  ) {
    return t.db
      .insertInto('consent_events')
      .values({
        recipient_id: recipientId,
        purpose: 'service_offers',
        channel,
        action,
        source: 'api',
        occurred_at: occurredAt,
        ...(action === 'grant' ? { notice_version: '2022-03-01', notice_sha256: sha256(NOTICE) } : {}),
      })
      .returning(['id', 'retain_until', 'recorded_at'])
      .executeTakeFirstOrThrow();
  }

  it('refuses UPDATE, DELETE and TRUNCATE of consent_events and audit_log', async () => {
    await event('grant', '2024-01-01T00:00:00Z');
    for (const [table, column] of [
      ['consent_events', 'channel'],
      ['audit_log', 'reason'],
    ] as const) {
      const update = sql`UPDATE ${sql.table(table)} SET ${sql.ref(column)} = ${sql.ref(column)}`;
      await expect(update.execute(t.db)).rejects.toThrow(/permission denied/);
      await expect(sql`DELETE FROM ${sql.table(table)}`.execute(t.db)).rejects.toThrow(/permission denied/);
      await expect(sql`TRUNCATE ${sql.table(table)}`.execute(t.db)).rejects.toThrow(/permission denied/);
    }
  });

  it('refuses disabling their triggers or replication-role tricks', async () => {
    for (const table of ['consent_events', 'audit_log'] as const) {
      await expect(sql`ALTER TABLE ${sql.table(table)} DISABLE TRIGGER ALL`.execute(t.db)).rejects.toThrow(
        /must be owner/,
      );
    }
    await expect(sql`SET session_replication_role = replica`.execute(t.db)).rejects.toThrow(
      /permission denied/,
    );
  });

  it('refuses rewriting even for the schema owner: the triggers hold without the privilege check', async () => {
    const owner = new pg.Client({ connectionString: t.ownerUrl });
    await owner.connect();
    try {
      await expect(owner.query('UPDATE consent_events SET channel = channel')).rejects.toThrow(/append-only/);
      await expect(owner.query('DELETE FROM audit_log')).rejects.toThrow(/append-only/);
      await expect(owner.query('TRUNCATE audit_log')).rejects.toThrow(/append-only/);
      await expect(owner.query('TRUNCATE consent_events CASCADE')).rejects.toThrow(/append-only/);
    } finally {
      await owner.end();
    }
  });

  it('stamps recorded_at and the retention date itself: five years after a withdrawal, none for a grant', async () => {
    const grant = await event('grant', '2023-05-01T10:00:00Z', 'sms');
    const withdrawal = await event('withdraw', '2023-06-01T10:00:00Z', 'sms');
    expect(grant.retain_until).toBeNull();
    expect(withdrawal.retain_until?.toISOString()).toBe('2028-06-01T10:00:00.000Z');
    expect(Date.now() - withdrawal.recorded_at.getTime()).toBeLessThan(60_000);
  });

  it('refuses a recording time or retention date given by the application, and an event in the future', async () => {
    const values = {
      recipient_id: recipientId,
      purpose: 'feedback',
      channel: 'email',
      action: 'withdraw',
      source: 'api',
      occurred_at: '2020-01-01T00:00:00Z',
    } as const;
    await expect(
      t.db
        .insertInto('consent_events')
        .values({ ...values, recorded_at: '2020-01-01T00:00:00Z' })
        .execute(),
    ).rejects.toThrow(/permission denied/);
    await expect(
      sql`INSERT INTO consent_events (recipient_id, purpose, channel, action, source, occurred_at, retain_until)
          VALUES (${recipientId}, 'feedback', 'email', 'withdraw', 'api', now(), now())`.execute(t.db),
    ).rejects.toThrow(/permission denied|non-DEFAULT value into column "retain_until"/);
    await expect(
      t.db
        .insertInto('consent_events')
        .values({ ...values, occurred_at: new Date(Date.now() + 3_600_000) })
        .execute(),
    ).rejects.toThrow(/consent_events_not_in_future/);
  });

  it('refuses a grant whose notice hash does not match the notice text', async () => {
    await expect(
      t.db
        .insertInto('consent_events')
        .values({
          recipient_id: recipientId,
          purpose: 'contests',
          channel: 'push',
          action: 'grant',
          source: 'app',
          occurred_at: '2024-01-01T00:00:00Z',
          notice_version: '2022-03-01',
          notice_sha256: sha256('some other text'),
        })
        .execute(),
    ).rejects.toThrow(/consent_events_notice_text_fkey/);
  });

  it('lets only the retention function delete, and only evidence past its date', async () => {
    // Controlled clock: events whose withdrawal happened more than five years ago are past retention.
    const oldGrant = await event('grant', '2018-01-01T00:00:00Z', 'sms');
    const oldWithdrawal = await event('withdraw', '2019-01-01T00:00:00Z', 'sms');
    const liveGrant = await event('grant', '2019-06-01T00:00:00Z', 'email');

    await expect(
      sql`SELECT consentcast_purge_consent_events(${sql.val([liveGrant.id])}::bigint[])`.execute(t.db),
    ).rejects.toThrow(`consent event ${liveGrant.id} is not past its retention date`);

    const { rows } = await sql<{
      deleted: number;
    }>`SELECT consentcast_purge_consent_events() AS deleted`.execute(t.db);
    expect(rows[0]?.deleted).toBe(2);
    const left = await t.db.selectFrom('consent_events').select('id').execute();
    const ids = left.map((r) => r.id);
    expect(ids).not.toContain(oldGrant.id);
    expect(ids).not.toContain(oldWithdrawal.id);
    expect(ids).toContain(liveGrant.id);
  });
});
