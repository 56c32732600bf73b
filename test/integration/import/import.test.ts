import { Readable } from 'node:stream';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { recordConsentChanges } from '../../../src/consent/ledger.js';
import { keyedHash } from '../../../src/crypto/pseudonym.js';
import { type ImportSummary, importPeople } from '../../../src/import/importer.js';
import { upsertRecipient } from '../../../src/recipients/recipients.repository.js';
import { NOTICE_VERSION, seedNotice } from '../../support/fixtures.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';
import { importText, ndjson, OPERATOR, SECRET, snapshot, tombstone } from './import-helpers.js';

const N = NOTICE_VERSION;
const grant = (purpose: string, channel: string, occurred_at: string, notice_version = N) => ({
  purpose,
  channel,
  status: 'granted',
  occurred_at,
  notice_version,
});
const withdraw = (purpose: string, channel: string, occurred_at: string) => ({
  purpose,
  channel,
  status: 'withdrawn',
  occurred_at,
});

/**
 * The file of issue 3's acceptance: valid rows, a row with several invalid fields, an erased client
 * number, an unknown notice version, a client number twice, consents out of order, and lines that
 * are blank or not JSON.
 */
const MIXED = ndjson([
  /* 1 */ {
    client_number: 'C-A',
    first_name: 'Anna',
    email: 'anna@example.lv',
    devices: [{ token: 'token-anna-0001', platform: 'ios' }],
    consents: [grant('service_offers', 'email', '2024-03-01T10:00:00Z')],
  },
  /* 2 */ {
    client_number: 'C-BAD',
    email: 'not-an-address',
    phone: '12',
    locale: 'de',
    devices: [{ token: 'token-bad-00001', platform: 'android' }],
    consents: [grant('contests', 'sms', '2024-01-01T00:00:00Z')],
  },
  /* 3 */ {
    client_number: 'C-ERASED',
    first_name: 'Gone',
    consents: [grant('feedback', 'push', '2024-01-01T00:00:00Z')],
  },
  /* 4 */ {
    client_number: 'C-NOTICE',
    consents: [grant('contests', 'email', '2024-01-01T00:00:00Z', 'v-unknown')],
  },
  // The same person again, later in the file: a later withdrawal, and a grant older than everything.
  /* 5 */ {
    client_number: 'C-A',
    last_name: 'Kalniņa',
    consents: [
      withdraw('service_offers', 'email', '2024-05-01T10:00:00Z'),
      grant('service_offers', 'email', '2023-01-01T00:00:00Z'),
    ],
  },
  // An import older than what the app recorded since: evidence, but not the state.
  /* 6 */ {
    client_number: 'C-OLD',
    consents: [
      withdraw('partner_offers', 'sms', '2024-01-01T00:00:00Z'),
      grant('feedback', 'sms', '2024-02-01T00:00:00Z'),
    ],
  },
  // A grant and a withdrawal at the same instant: the withdrawal wins, whatever the order.
  /* 7 */ {
    client_number: 'C-TIE',
    consents: [
      withdraw('contests', 'push', '2024-04-04T04:04:04Z'),
      grant('contests', 'push', '2024-04-04T04:04:04Z'),
    ],
  },
  /* 8 */ '',
  /* 9 */ '{"client_number": "C-X", "email": "janis@example.lv"',
  /* 10 */ {
    client_number: 'C-B',
    phone: '+371 2000 0002',
    devices: [{ token: 'token-bee-00001', platform: 'web' }],
  },
]);

async function prepare(t: TestDatabase): Promise<void> {
  await seedNotice(t.db);
  await tombstone(t, 'C-ERASED');
  await t.db.transaction().execute(async (trx) => {
    const old = await upsertRecipient(trx, SECRET, 'C-OLD', { first_name: 'Olga' });
    await recordConsentChanges(trx, SECRET, {
      recipientId: old.id,
      changes: [
        {
          purpose: 'partner_offers',
          channel: 'sms',
          action: 'grant',
          occurredAt: new Date('2024-06-01T00:00:00Z'),
        },
      ],
      source: 'app',
      actor: { type: 'data_subject', id: 'C-OLD' },
      noticeVersion: N,
      evidence: {},
    });
  });
}

describe('importing a file that mixes valid and invalid rows', () => {
  let t: TestDatabase;
  let summary: ImportSummary;
  beforeAll(async () => {
    t = await createTestDatabase();
    await prepare(t);
    summary = await importText(t, MIXED, { batchSize: 2 });
  });
  afterAll(() => t.drop());

  it('then the summary counts rows and names every problem by line and field, without values', () => {
    expect(summary.status).toBe('completed');
    expect(summary.rows).toEqual({ read: 9, imported: 5, rejected: 4 });
    expect(summary.problems).toEqual([
      { line: 2, field: 'email', message: 'is not an e-mail address' },
      { line: 2, field: 'phone', message: expect.stringMatching(/E\.164/) },
      { line: 2, field: 'locale', message: 'must be one of lv, en, ru' },
      { line: 3, field: 'client_number', message: 'erased person; not re-created' },
      { line: 4, field: 'consents/0/notice_version', message: 'is not a known notice version' },
      { line: 9, field: null, message: 'is not valid JSON' },
    ]);
    const text = JSON.stringify(summary);
    for (const value of ['not-an-address', 'janis@example.lv', 'Gone', 'C-BAD', 'C-ERASED']) {
      expect(text).not.toContain(value);
    }
  });

  it('then the valid rows are imported exactly and the rejected ones leave nothing behind', async () => {
    const state = await snapshot(t);
    expect(state.people.map((p) => p.client_number)).toEqual(['C-A', 'C-B', 'C-OLD', 'C-TIE']);
    expect(state.people.find((p) => p.client_number === 'C-A')).toMatchObject({
      first_name: 'Anna',
      last_name: 'Kalniņa',
      email: 'anna@example.lv',
      locale: 'lv',
      time_zone: 'Europe/Riga',
    });
    expect(state.people.find((p) => p.client_number === 'C-B')?.phone).toBe('+37120000002');
    // The keyed hashes that suppression checks use travel with the address and number.
    const hashes = await t.db
      .selectFrom('recipients')
      .select(['client_number', 'email_hash', 'phone_hash'])
      .where('client_number', 'in', ['C-A', 'C-B'])
      .orderBy('client_number')
      .execute();
    expect(hashes).toEqual([
      { client_number: 'C-A', email_hash: keyedHash(SECRET, 'email', 'anna@example.lv'), phone_hash: null },
      { client_number: 'C-B', email_hash: null, phone_hash: keyedHash(SECRET, 'phone', '+37120000002') },
    ]);
    expect(state.devices).toEqual([
      { client_number: 'C-A', token: 'token-anna-0001', platform: 'ios' },
      { client_number: 'C-B', token: 'token-bee-00001', platform: 'web' },
    ]);
    // The erased person is not re-created, and nothing of the rejected rows is anywhere.
    const erased = await t.db
      .selectFrom('recipients')
      .select('id')
      .where('erased_at', 'is not', null)
      .execute();
    expect(erased).toHaveLength(1);
    const strays = await t.db
      .selectFrom('consent_events')
      .select('recipient_id')
      .where('recipient_id', '=', erased[0]?.id ?? 0)
      .execute();
    expect(strays).toEqual([]);
  });

  it('then consents end in the latest-occurring state, a withdrawal winning a tie, newer state kept', async () => {
    const { consents } = await snapshot(t);
    expect(
      consents.map((c) => [
        c.client_number,
        c.purpose,
        c.channel,
        c.status,
        c.source,
        c.occurred_at.toISOString(),
      ]),
    ).toEqual([
      ['C-A', 'service_offers', 'email', 'withdrawn', 'import', '2024-05-01T10:00:00.000Z'],
      ['C-OLD', 'feedback', 'sms', 'granted', 'import', '2024-02-01T00:00:00.000Z'],
      ['C-OLD', 'partner_offers', 'sms', 'granted', 'app', '2024-06-01T00:00:00.000Z'],
      ['C-TIE', 'contests', 'push', 'withdrawn', 'import', '2024-04-04T04:04:04.000Z'],
    ]);
  });

  it('then every event is evidence from the import: source, actor, import id, reason, notice hash', async () => {
    const events = await t.db
      .selectFrom('consent_events as e')
      .innerJoin('recipients as r', 'r.id', 'e.recipient_id')
      .select([
        'r.client_number',
        'e.action',
        'e.source',
        'e.actor_hash',
        'e.request_id',
        'e.reason',
        'e.notice_version',
        'e.notice_sha256',
        'e.retain_until',
        'e.occurred_at',
      ])
      .where('e.source', '=', 'import')
      .orderBy('r.client_number')
      .orderBy('e.occurred_at')
      .orderBy('e.action')
      .execute();
    // Every event of the file, the out-of-order ones too: 3 of C-A, 2 of C-OLD, 2 of C-TIE.
    expect(events.map((e) => [e.client_number, e.action])).toEqual([
      ['C-A', 'grant'],
      ['C-A', 'grant'],
      ['C-A', 'withdraw'],
      ['C-OLD', 'withdraw'],
      ['C-OLD', 'grant'],
      ['C-TIE', 'grant'],
      ['C-TIE', 'withdraw'],
    ]);
    const notice = await t.db
      .selectFrom('notices')
      .select('text_sha256')
      .where('version', '=', N)
      .executeTakeFirstOrThrow();
    for (const e of events) {
      expect(e.actor_hash).toBe(keyedHash(SECRET, 'actor', `operator:${OPERATOR.id}`));
      expect(e.request_id).toBe(summary.importId);
      if (e.action === 'grant') {
        expect([e.reason, e.notice_version, e.notice_sha256, e.retain_until]).toEqual([
          null,
          N,
          notice.text_sha256,
          null,
        ]);
      } else {
        expect([e.reason, e.notice_version]).toEqual(['import', null]);
        const fiveYears = new Date(e.occurred_at);
        fiveYears.setUTCFullYear(fiveYears.getUTCFullYear() + 5);
        expect(e.retain_until).toEqual(fiveYears);
      }
    }
  });

  it('then one audit entry records who imported what and how many, with no personal data', async () => {
    const entries = await t.db
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'recipient.import')
      .execute();
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      actor_type: 'operator',
      actor_id: 'tester',
      subject_type: 'import',
      subject_id: summary.importId,
      recipient_id: null,
      details: {
        source: 'test.ndjson',
        format: 'ndjson',
        status: 'completed',
        rows: { read: 9, imported: 5, rejected: 4 },
        counts: { peopleCreated: 3, consentEventsRecorded: 7 },
      },
    });
    expect(JSON.stringify(entries[0]?.details)).not.toMatch(/C-|@|Anna|token/);
  });

  it('then an audit entry records the start (who, which source, which format) before the rows were written', async () => {
    const entries = await t.db
      .selectFrom('audit_log')
      .selectAll()
      .where('subject_id', '=', summary.importId)
      .orderBy('id')
      .execute();
    expect(entries.map((e) => e.action)).toEqual(['recipient.import_start', 'recipient.import']);
    expect(entries[0]).toMatchObject({
      actor_type: 'operator',
      actor_id: 'tester',
      subject_type: 'import',
      recipient_id: null,
      details: { source: 'test.ndjson', format: 'ndjson' },
    });
    const firstEvent = await t.db
      .selectFrom('consent_events')
      .select('recorded_at')
      .where('request_id', '=', summary.importId)
      .orderBy('recorded_at')
      .limit(1)
      .executeTakeFirstOrThrow();
    expect(entries[0]?.occurred_at.getTime()).toBeLessThanOrEqual(firstEvent.recorded_at.getTime());
  });

  it('when the same file is imported again, then people are unchanged and no event is recorded twice', async () => {
    const before = await snapshot(t);
    const updatedAt = await t.db
      .selectFrom('recipients')
      .select(['id', 'updated_at'])
      .orderBy('id')
      .execute();
    const again = await importText(t, MIXED, { batchSize: 3 });
    expect(again.rows).toEqual({ read: 9, imported: 5, rejected: 4 });
    expect(again.counts).toEqual({
      peopleCreated: 0,
      peopleUpdated: 0,
      devicesAdded: 0,
      devicesMoved: 0,
      consentEventsRecorded: 0,
      consentEventsDuplicate: 7,
      consentStatesChanged: 0,
    });
    expect(await snapshot(t)).toEqual(before);
    expect(await t.db.selectFrom('recipients').select(['id', 'updated_at']).orderBy('id').execute()).toEqual(
      updatedAt,
    );
    const audits = await t.db
      .selectFrom('audit_log')
      .select('id')
      .where('action', '=', 'recipient.import')
      .execute();
    expect(audits).toHaveLength(2);
  });
});

describe('the batch size and the connections', () => {
  it('when the same file is imported in batches of 1, 2 or all rows, on 1 or 3 connections, then the end state is the same', async () => {
    const states = [];
    for (const [batchSize, parallel] of [
      [1, 1],
      [2, 1],
      [1000, 1],
      [2, 3],
    ] as const) {
      const t = await createTestDatabase();
      try {
        await prepare(t);
        const s = await importText(t, MIXED, { batchSize, parallel });
        expect(s.rows).toEqual({ read: 9, imported: 5, rejected: 4 });
        const { people, devices, consents, events } = await snapshot(t);
        states.push({ people, devices, consents, events: events.length });
      } finally {
        await t.drop();
      }
    }
    expect(states[1]).toEqual(states[0]);
    expect(states[2]).toEqual(states[0]);
    expect(states[3]).toEqual(states[0]);
  });
});

describe('a dry run', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
    await prepare(t);
  });
  afterAll(() => t.drop());

  it('when run, then it reports what a real run would do and writes nothing, not even an audit entry', async () => {
    const before = await snapshot(t);
    const dry = await importText(t, MIXED, { dryRun: true });
    expect(dry.dryRun).toBe(true);
    expect(dry.rows).toEqual({ read: 9, imported: 5, rejected: 4 });
    expect(dry.counts).toMatchObject({ peopleCreated: 3, consentEventsRecorded: 7 });
    expect(await snapshot(t)).toEqual(before);
    expect(await t.db.selectFrom('audit_log').select('id').execute()).toEqual([]);
    const real = await importText(t, MIXED);
    expect(real.counts).toEqual(dry.counts);
  });
});

describe('an interrupted import', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(() => t.drop());

  it('when stopped, then the rows read so far are written whole, the rest not read, and it is audited', async () => {
    const lines = Array.from(
      { length: 500 },
      (_, i) => `${JSON.stringify({ client_number: `I-${i + 1}` })}\n`,
    );
    const stop = new AbortController();
    const summary = await importPeople(
      { pool: t.pool, db: t.db, pseudonymSecret: SECRET },
      Readable.from(lines.map((l) => Buffer.from(l))),
      {
        format: 'ndjson',
        actor: OPERATOR,
        source: 'big.ndjson',
        batchSize: 7,
        signal: stop.signal,
        onProgress: (p) => {
          if (p.read >= 20) stop.abort();
        },
      },
    );
    expect(summary.status).toBe('failed');
    expect(summary.failure).toMatch(/^interrupted after line 20: the rest of the file was not read/);
    expect(summary.rows).toEqual({ read: 20, imported: 20, rejected: 0 });
    const people = await t.db.selectFrom('recipients').select('client_number').execute();
    expect(people).toHaveLength(20);
    const audit = await t.db
      .selectFrom('audit_log')
      .select('details')
      .where('action', '=', 'recipient.import')
      .executeTakeFirstOrThrow();
    expect(audit.details).toMatchObject({ status: 'failed', rows: { read: 20, imported: 20 } });
  });
});

describe('an import whose connection is lost', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(() => t.drop());

  it('when PostgreSQL ends its session mid-file, then it stops with a failure, keeps what was committed, and audits', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const rows = (from: number) =>
      Array.from({ length: 50 }, (_, i) =>
        Buffer.from(`${JSON.stringify({ client_number: `L-${from + i}` })}\n`),
      );
    async function* source() {
      yield* rows(0);
      await gate;
      yield* rows(50);
    }
    let committed = 0;
    const running = importPeople(
      { pool: t.pool, db: t.db, pseudonymSecret: SECRET },
      Readable.from(source()),
      {
        format: 'ndjson',
        actor: OPERATOR,
        source: 'lost.ndjson',
        batchSize: 10,
        onProgress: (p) => {
          committed = p.imported;
        },
      },
    );
    for (let i = 0; i < 200 && committed < 40; i++) await new Promise((r) => setTimeout(r, 25));
    const admin = new pg.Client({ connectionString: inject('services').pgAdminUrl });
    await admin.connect();
    // Every session of the test database: the import's, and idle ones of the pool (which it replaces).
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [t.name]);
    await admin.end();
    release();
    const summary = await running;
    expect(summary.status).toBe('failed');
    expect(summary.failure).toBeDefined();
    expect(summary.rows.imported).toBeGreaterThanOrEqual(40);
    const people = await t.db.selectFrom('recipients').select('client_number').execute();
    expect(people.length).toBe(summary.rows.imported);
    const audit = await t.db
      .selectFrom('audit_log')
      .select('details')
      .where('action', '=', 'recipient.import')
      .executeTakeFirstOrThrow();
    expect(audit.details).toMatchObject({ status: 'failed' });
  });
});

describe('rows the database refuses although they passed validation', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
    await seedNotice(t.db);
    // A rule only the database knows, standing in for anything the validation did not foresee.
    const owner = new pg.Client({ connectionString: t.ownerUrl });
    await owner.connect();
    await owner.query(
      "ALTER TABLE recipients ADD CONSTRAINT test_refused CHECK (first_name IS DISTINCT FROM 'Refused')",
    );
    await owner.end();
  });
  afterAll(() => t.drop());

  it('when two rows of a batch are refused, then only they are rejected, whole, and the rest land', async () => {
    const rows = Array.from({ length: 10 }, (_, i) => ({
      client_number: `R-${i + 1}`,
      first_name: i === 3 || i === 7 ? 'Refused' : 'Fine',
      devices: [{ token: `token-refused-${i + 1}`, platform: 'android' }],
      consents: [grant('feedback', 'email', '2024-01-01T00:00:00Z')],
    }));
    const summary = await importText(t, ndjson(rows), { batchSize: 100 });
    expect(summary.rows).toEqual({ read: 10, imported: 8, rejected: 2 });
    expect(summary.problems).toEqual([
      { line: 4, field: null, message: 'rejected by the database (constraint test_refused)' },
      { line: 8, field: null, message: 'rejected by the database (constraint test_refused)' },
    ]);
    const state = await snapshot(t);
    const kept = ['R-1', 'R-10', 'R-2', 'R-3', 'R-5', 'R-6', 'R-7', 'R-9'];
    expect(state.people.map((p) => p.client_number)).toEqual(kept);
    expect(state.devices.map((d) => d.client_number)).toEqual(kept);
    expect(state.consents.map((c) => c.client_number)).toEqual(kept);
    const events = await t.db
      .selectFrom('consent_events')
      .select(sql<number>`count(*)::int`.as('n'))
      .executeTakeFirstOrThrow();
    expect(events.n).toBe(8);
  });
});

describe('devices named by an import', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(() => t.drop());

  it('when a known token is named for another person, then it moves; a refused token stays refused', async () => {
    await importText(
      t,
      ndjson([
        {
          client_number: 'D-1',
          devices: [
            { token: 'token-moving-1', platform: 'ios' },
            { token: 'token-dead-001', platform: 'ios' },
          ],
        },
      ]),
    );
    await t.db
      .updateTable('devices')
      .set({ invalidated_at: new Date(), invalid_reason: 'unregistered' })
      .where('token', '=', 'token-dead-001')
      .execute();
    const summary = await importText(
      t,
      ndjson([
        { client_number: 'D-2', devices: [{ token: 'token-moving-1', platform: 'android' }] },
        { client_number: 'D-1', devices: [{ token: 'token-dead-001', platform: 'ios' }] },
      ]),
    );
    expect(summary.counts).toMatchObject({ devicesAdded: 0, devicesMoved: 1 });
    const devices = await t.db
      .selectFrom('devices as d')
      .innerJoin('recipients as r', 'r.id', 'd.recipient_id')
      .select(['r.client_number', 'd.token', 'd.platform', 'd.invalid_reason'])
      .orderBy('d.token')
      .execute();
    expect(devices).toEqual([
      { client_number: 'D-1', token: 'token-dead-001', platform: 'ios', invalid_reason: 'unregistered' },
      { client_number: 'D-2', token: 'token-moving-1', platform: 'android', invalid_reason: null },
    ]);
  });

  it('when two rows of one batch name the same token, then the later row gets it', async () => {
    await importText(
      t,
      ndjson([
        { client_number: 'D-3', devices: [{ token: 'token-shared-1', platform: 'ios' }] },
        { client_number: 'D-4', devices: [{ token: 'token-shared-1', platform: 'web' }] },
      ]),
    );
    const device = await t.db
      .selectFrom('devices as d')
      .innerJoin('recipients as r', 'r.id', 'd.recipient_id')
      .select(['r.client_number', 'd.platform'])
      .where('d.token', '=', 'token-shared-1')
      .executeTakeFirstOrThrow();
    expect(device).toEqual({ client_number: 'D-4', platform: 'web' });
  });
});

describe('importing CSV', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
    await seedNotice(t.db);
  });
  afterAll(() => t.drop());

  it('when a CSV file carries people, a device and consent columns, then it lands as NDJSON would', async () => {
    const csv = [
      'client_number,first_name,email,attributes,push_token,push_platform,consent_service_offers_email,consent_contests_sms,consent_at,notice_version',
      `CSV-1,Līga,liga@example.lv,"{""segment"":""gold""}",token-csv-0001,android,granted,withdrawn,2024-01-01T00:00:00Z,${N}`,
      `CSV-2,Ilze,bad-address,,,,granted,,2024-01-01T00:00:00Z,`,
      `CSV-3,,,,,,,,,`,
    ].join('\r\n');
    const summary = await importText(t, csv, { format: 'csv', source: 'people.csv' });
    expect(summary.rows).toEqual({ read: 3, imported: 2, rejected: 1 });
    expect(summary.problems).toEqual([
      { line: 3, field: 'email', message: 'is not an e-mail address' },
      {
        line: 3,
        field: 'notice_version',
        message: 'is required to grant consent (the notice the person was shown)',
      },
    ]);
    const state = await snapshot(t);
    expect(state.people).toEqual([
      expect.objectContaining({
        client_number: 'CSV-1',
        first_name: 'Līga',
        attributes: { segment: 'gold' },
      }),
      expect.objectContaining({ client_number: 'CSV-3', first_name: null, attributes: {} }),
    ]);
    expect(state.devices).toEqual([{ client_number: 'CSV-1', token: 'token-csv-0001', platform: 'android' }]);
    expect(state.consents.map((c) => [c.purpose, c.channel, c.status])).toEqual([
      ['contests', 'sms', 'withdrawn'],
      ['service_offers', 'email', 'granted'],
    ]);
  });
});
