import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SYSTEM } from '../../../src/auth/actor.js';
import { createApiKeyVerifier } from '../../../src/auth/api-keys.js';
import { recordConsentChanges } from '../../../src/consent/ledger.js';
import type { Channel, Purpose } from '../../../src/domain/vocabulary.js';
import { runConsentcast } from '../../support/cli.js';
import { NOTICE_VERSION, seedNotice } from '../../support/fixtures.js';
import { exampleEnv } from '../../support/service-env.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';

describe('operator commands', () => {
  let t: TestDatabase;
  let env: Record<string, string>;
  beforeAll(async () => {
    t = await createTestDatabase();
    await seedNotice(t.db);
    env = { ...exampleEnv(), DATABASE_URL: t.appUrl, REDIS_URL: inject('services').redisUrl };
  });
  afterAll(() => t.drop());

  /** A person who granted (app, 2024-01-01) each of `grants` ("purpose/channel"). */
  async function personWithGrants(clientNumber: string, grants: readonly `${Purpose}/${Channel}`[]) {
    const person = await t.db
      .insertInto('recipients')
      .values({ client_number: clientNumber })
      .returning('id')
      .executeTakeFirstOrThrow();
    await t.db.transaction().execute((trx) =>
      recordConsentChanges(trx, clientNumber.padEnd(40, 'x'), {
        recipientId: person.id,
        changes: grants.map((g) => {
          const [purpose, channel] = g.split('/') as [Purpose, Channel];
          return { purpose, channel, action: 'grant' as const, occurredAt: new Date('2024-01-01T00:00:00Z') };
        }),
        source: 'app',
        actor: SYSTEM,
        noticeVersion: NOTICE_VERSION,
        evidence: {},
      }),
    );
    return person;
  }

  it('create an API key shown once, list it without the secret, and revoke it', async () => {
    const created = await runConsentcast(
      [
        'api-key',
        'create',
        '--name',
        'mobile app',
        '--scopes',
        'consents:write,recipients:write',
        '--actor',
        'anna.ops',
        '--json',
      ],
      env,
    );
    expect(created.code, created.stderr).toBe(0);
    const { key, prefix } = JSON.parse(created.stdout) as { key: string; prefix: string };
    const verify = createApiKeyVerifier(t.db);
    expect(await verify(key)).toMatchObject({
      name: 'mobile app',
      scopes: ['consents:write', 'recipients:write'],
    });
    const stored = await t.db
      .selectFrom('api_keys')
      .select('secret_hash')
      .where('key_prefix', '=', prefix)
      .executeTakeFirstOrThrow();
    expect(stored.secret_hash).not.toContain(key.slice(16));

    const listed = await runConsentcast(['api-key', 'list'], env);
    expect(listed.stdout).toContain(prefix);
    expect(listed.stdout).not.toContain(key);

    const revoked = await runConsentcast(['api-key', 'revoke', prefix, '--actor', 'anna.ops'], env);
    expect(revoked.code).toBe(0);
    expect(await verify(key)).toBeUndefined();
    const audited = await t.db
      .selectFrom('audit_log')
      .select(['action', 'actor_id'])
      .where('subject_id', '=', prefix)
      .execute();
    expect(audited).toEqual([
      { action: 'api_key.create', actor_id: 'anna.ops' },
      { action: 'api_key.revoke', actor_id: 'anna.ops' },
    ]);
  });

  it('refuses unknown scopes naming them, with exit code 2', async () => {
    const result = await runConsentcast(
      ['api-key', 'create', '--name', 'x', '--scopes', 'consents:write,root'],
      env,
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--scopes: unknown root/);
  });

  it('record a withdrawal received by e-mail: every live grant of the channel ends, source operator (N12)', async () => {
    const person = await personWithGrants('EMAIL-REQ-1', [
      'service_offers/email',
      'contests/email',
      'contests/sms',
    ]);
    const result = await runConsentcast(
      [
        'consent',
        'withdraw',
        'EMAIL-REQ-1',
        '--channel',
        'email',
        '--reason',
        'email_request',
        '--actor',
        'support.janis',
      ],
      env,
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/withdrawn contests on email/);
    const state = await t.db
      .selectFrom('consents')
      .select(['purpose', 'channel', 'status', 'source'])
      .where('recipient_id', '=', person.id)
      .orderBy('purpose')
      .orderBy('channel')
      .execute();
    expect(state).toEqual([
      { purpose: 'contests', channel: 'email', status: 'withdrawn', source: 'operator' },
      { purpose: 'contests', channel: 'sms', status: 'granted', source: 'app' },
      { purpose: 'service_offers', channel: 'email', status: 'withdrawn', source: 'operator' },
    ]);
    const entry = await t.db
      .selectFrom('audit_log')
      .select(['actor_type', 'actor_id', 'reason'])
      .where('action', '=', 'consent.withdraw')
      .executeTakeFirstOrThrow();
    expect(entry).toEqual({ actor_type: 'operator', actor_id: 'support.janis', reason: 'email_request' });
  });

  it('record a withdrawal with Redis away: it needs only PostgreSQL, and says nothing else (N12)', async () => {
    const person = await personWithGrants('NO-REDIS-1', ['service_offers/sms']);
    // nothing listens on port 1: a command that connected to Redis would log its errors
    const result = await runConsentcast(
      ['consent', 'withdraw', 'NO-REDIS-1', '--reason', 'email_request', '--actor', 'support.janis'],
      { ...env, REDIS_URL: 'redis://127.0.0.1:1' },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
    const state = await t.db
      .selectFrom('consents')
      .select(['status', 'source'])
      .where('recipient_id', '=', person.id)
      .execute();
    expect(state).toEqual([{ status: 'withdrawn', source: 'operator' }]);
  });

  it('record a withdrawal received earlier as of --received-at, in the ledger and the audit log (N12)', async () => {
    const person = await personWithGrants('EMAIL-REQ-2', ['contests/email']);
    const result = await runConsentcast(
      [
        'consent',
        'withdraw',
        'EMAIL-REQ-2',
        '--reason',
        'email_request',
        '--received-at',
        '2026-01-05T09:30:00+02:00',
        '--actor',
        'support.janis',
      ],
      env,
    );
    expect(result.code, result.stderr).toBe(0);
    const event = await t.db
      .selectFrom('consent_events')
      .select(['action', 'source', 'occurred_at', 'effective_at'])
      .where('recipient_id', '=', person.id)
      .where('action', '=', 'withdraw')
      .executeTakeFirstOrThrow();
    expect(event).toEqual({
      action: 'withdraw',
      source: 'operator',
      occurred_at: new Date('2026-01-05T07:30:00Z'),
      effective_at: new Date('2026-01-05T07:30:00Z'),
    });
    const entry = await t.db
      .selectFrom('audit_log')
      .select('details')
      .where('action', '=', 'consent.withdraw')
      .where('recipient_id', '=', person.id)
      .executeTakeFirstOrThrow();
    expect(entry.details).toMatchObject({ received_at: '2026-01-05T07:30:00.000Z' });
  });

  it('refuses a --received-at that is not a date and time with a zone, or in the future, with exit code 2 and nothing recorded', async () => {
    const person = await personWithGrants('EMAIL-REQ-3', ['contests/email']);
    const tomorrow = new Date(Date.now() + 24 * 3600_000).toISOString();
    for (const [value, message] of [
      ['05.01.2026', /^consent: --received-at: "05\.01\.2026" is not a date and time with a zone, e\.g\. /],
      [tomorrow, /^consent: --received-at: .* is in the future; give when the request was received$/],
    ] as const) {
      const result = await runConsentcast(
        ['consent', 'withdraw', 'EMAIL-REQ-3', '--reason', 'email_request', '--received-at', value],
        env,
      );
      expect(result.code, value).toBe(2);
      expect(result.stderr.trim()).toMatch(message);
    }
    const state = await t.db
      .selectFrom('consents')
      .select('status')
      .where('recipient_id', '=', person.id)
      .execute();
    expect(state).toEqual([{ status: 'granted' }]);
  });

  it('answer an unknown person with exit code 1 and a clear line', async () => {
    const result = await runConsentcast(['consent', 'withdraw', 'NOBODY', '--reason', 'email_request'], env);
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe('consent: recipient not found');
  });
});
