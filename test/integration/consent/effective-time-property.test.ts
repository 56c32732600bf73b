import { Readable } from 'node:stream';
import fc from 'fast-check';
import { sql } from 'kysely';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { recordOperatorWithdrawal } from '../../../src/consent/operator-withdrawal.js';
import { importPeople } from '../../../src/import/importer.js';
import { runConsentcast } from '../../support/cli.js';
import { NOTICE_VERSION, seedNotice } from '../../support/fixtures.js';
import { exampleEnv } from '../../support/service-env.js';
import { createTestApp, type TestApp } from '../../support/test-app.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';

/**
 * Withdrawals never lose to a clock (N1, N12, N13; docs/data-model.md, "When a consent change takes
 * effect"). Every writer of the current state is driven through its real door — the API (with a
 * client clock skewed either way), SMS STOP and START, the operator's withdrawal with a receipt date
 * in the past, the import — in waves that race each other on one person. The model below applies the
 * rule to the ledger's evidence in TypeScript, apart from the SQL: a change takes effect at the
 * earlier of when it occurred and when it was recorded; the state is the change taking effect last;
 * on equal times a withdrawal wins. Times are compared in microseconds, as the database keeps them.
 */

type Purpose = 'service_offers' | 'contests';
const PURPOSES: readonly Purpose[] = ['contests', 'service_offers'];
const MINUTE = 60_000;

/** A client clock: the database's own time ('server'), or the client's, this far off (ms, never 0). */
type Clock = 'server' | number;
interface AppChange {
  readonly purpose: Purpose;
  readonly action: 'grant' | 'withdraw';
  readonly clock: Clock;
}
type Op =
  | { readonly kind: 'app'; readonly changes: readonly AppChange[] }
  /** An app change dated at a shared past instant (`minute` of the grid), so ties with others are common. */
  | {
      readonly kind: 'app-dated';
      readonly purpose: Purpose;
      readonly action: 'grant' | 'withdraw';
      readonly minute: number;
    }
  | { readonly kind: 'stop' }
  | { readonly kind: 'start' }
  /** `consent withdraw --received-at`: entered now, received earlier (a grid minute, or this long ago). */
  | { readonly kind: 'operator'; readonly purpose: Purpose | undefined; readonly received: When }
  /** One file row with one or two consents of the person, each dated by `when`. */
  | { readonly kind: 'import'; readonly consents: readonly ImportedConsent[] };
/** A date given by someone: a shared past minute of the grid, or now off by `skew` ms (either way). */
type When = { readonly minute: number } | { readonly skew: number };
interface ImportedConsent {
  readonly purpose: Purpose;
  readonly action: 'grant' | 'withdraw';
  readonly when: When;
}

const purpose = fc.constantFrom<Purpose>(...PURPOSES);
const action = fc.constantFrom<'grant' | 'withdraw'>('grant', 'withdraw');
const minute = fc.integer({ min: 0, max: 3 });
/** Up to 4 minutes either way (the API and the import accept 5 ahead); whole minutes make equal claims common. */
const skew = fc.oneof(
  fc.constantFrom(-4, -2, -1, 1, 2, 4).map((m) => m * MINUTE),
  fc.integer({ min: -240, max: 240 }).map((s) => s * 1000),
);
const clock: fc.Arbitrary<Clock> = fc.oneof(
  fc.constant<Clock>('server'),
  skew.filter((s) => s !== 0),
);
const when: fc.Arbitrary<When> = fc.oneof(fc.record({ minute }), fc.record({ skew }));
/** A receipt date is never in the future. */
const received: fc.Arbitrary<When> = fc.oneof(
  fc.record({ minute }),
  fc.record({ skew: skew.map((s) => -Math.abs(s)) }),
);
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('app' as const),
      changes: fc.array(fc.record({ purpose, action, clock }), { minLength: 1, maxLength: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('app-dated' as const), purpose, action, minute }) },
  { weight: 2, arbitrary: fc.constant<Op>({ kind: 'stop' }) },
  { weight: 1, arbitrary: fc.constant<Op>({ kind: 'start' }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('operator' as const),
      purpose: fc.option(purpose, { nil: undefined }),
      received,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('import' as const),
      consents: fc.array(fc.record({ purpose, action, when }), { minLength: 1, maxLength: 2 }),
    }),
  },
);
/** Waves run one after another; the operations of a wave race each other. */
const scenario = fc.array(fc.array(op, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 5 });

interface LedgerEvent {
  readonly id: number;
  readonly purpose: Purpose;
  readonly action: 'grant' | 'withdraw' | 'lapse';
  readonly occurred: bigint;
  readonly recorded: bigint;
  readonly effective: bigint;
}
interface StateRow {
  readonly purpose: Purpose;
  readonly status: 'granted' | 'withdrawn' | 'lapsed';
  readonly effective: bigint;
  readonly eventId: number | null;
}

/** The rule, in TypeScript: when a change takes effect (the earlier of the two; bigint, not Math.min). */
function effectOf(e: { occurred: bigint; recorded: bigint }): bigint {
  if (e.occurred < e.recorded) return e.occurred;
  return e.recorded;
}

/** The rule, in TypeScript: the state the recorded changes leave, whatever order they arrived in. */
function modelState(events: readonly LedgerEvent[]) {
  let best: { effective: bigint; withdraws: boolean; ids: number[] } | undefined;
  for (const e of events) {
    const effective = effectOf(e);
    const withdraws = e.action !== 'grant';
    if (
      best === undefined ||
      effective > best.effective ||
      (effective === best.effective && withdraws && !best.withdraws)
    ) {
      best = { effective, withdraws, ids: [e.id] };
    } else if (effective === best.effective && withdraws === best.withdraws) {
      best.ids.push(e.id);
    }
  }
  return (
    best && { status: best.withdraws ? 'withdrawn' : 'granted', effective: best.effective, ids: best.ids }
  );
}

const micros = (column: string) =>
  sql<string>`((extract(epoch FROM ${sql.ref(column)}) * 1000000)::bigint)::text`;

describe('when a consent change takes effect (N1, N12, N13): withdrawals never lose to a clock', () => {
  let t: TestDatabase;
  let api: TestApp;
  let key: string;
  let person = 0;
  /** A past minute the dated operations share: grid minute k is this plus k minutes. */
  let grid: number;

  beforeAll(async () => {
    t = await createTestDatabase();
    api = await createTestApp(t);
    await seedNotice(api.deps.db);
    key = await api.key(['recipients:write', 'consents:write', 'consents:read']);
    grid = Math.floor(Date.now() / MINUTE) * MINUTE - 10 * MINUTE;
  });
  afterAll(async () => {
    await api.close();
    await t.drop();
  });

  const at = (m: number) => new Date(grid + m * MINUTE);
  const dateOf = (w: When, now: number) => ('minute' in w ? at(w.minute) : new Date(now + w.skew));

  async function createPerson(prefix: string) {
    person += 1;
    const clientNumber = `${prefix}-${person}`;
    const phone = `+3712${String(person).padStart(7, '0')}`;
    const reply = await api.app.inject({
      method: 'PUT',
      url: `/v1/recipients/${clientNumber}`,
      headers: { authorization: `Bearer ${key}` },
      payload: { phone },
    });
    expect(reply.statusCode, reply.body).toBe(201);
    const row = await api.deps.db
      .selectFrom('recipients')
      .select('id')
      .where('client_number', '=', clientNumber)
      .executeTakeFirstOrThrow();
    return { clientNumber, phone, id: row.id };
  }

  async function appChanges(
    clientNumber: string,
    changes: readonly { purpose: Purpose; action: 'grant' | 'withdraw'; occurredAt?: Date }[],
  ) {
    const reply = await api.app.inject({
      method: 'POST',
      url: `/v1/recipients/${clientNumber}/consents`,
      headers: { authorization: `Bearer ${key}`, 'idempotency-key': `k-${clientNumber}-${Math.random()}` },
      payload: {
        source: 'app',
        notice_version: NOTICE_VERSION,
        changes: changes.map((c) => ({
          purpose: c.purpose,
          channel: 'sms',
          action: c.action,
          ...(c.occurredAt ? { occurred_at: c.occurredAt.toISOString() } : {}),
        })),
      },
    });
    expect(reply.statusCode, reply.body).toBe(201);
    return reply.json<{ events: { applied: boolean; effective_at: string }[] }>();
  }

  async function keyword(phone: string, body: 'STOP' | 'START') {
    const params = { From: phone, Body: body, MessageSid: `SM${Math.random().toString(16).slice(2)}` };
    const url = `${api.config.http.publicBaseUrl}/webhooks/twilio/inbound`;
    const reply = await api.app.inject({
      method: 'POST',
      url: '/webhooks/twilio/inbound',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': twilio.getExpectedTwilioSignature(api.config.sms?.authToken ?? '', url, params),
      },
      payload: new URLSearchParams(params).toString(),
    });
    expect(reply.statusCode, reply.body).toBe(200);
  }

  async function importConsents(
    clientNumber: string,
    consents: readonly { purpose: Purpose; action: 'grant' | 'withdraw'; occurredAt: Date }[],
  ) {
    const row = {
      client_number: clientNumber,
      consents: consents.map((c) => ({
        purpose: c.purpose,
        channel: 'sms',
        status: c.action === 'grant' ? 'granted' : 'withdrawn',
        occurred_at: c.occurredAt.toISOString(),
        ...(c.action === 'grant' ? { notice_version: NOTICE_VERSION } : {}),
      })),
    };
    const summary = await importPeople(
      { pool: t.pool, db: t.db, pseudonymSecret: api.config.pseudonymSecret },
      Readable.from([Buffer.from(JSON.stringify(row))]),
      { format: 'ndjson', actor: { type: 'operator', id: 'tester' }, source: 'crm.ndjson' },
    );
    expect(summary.status, JSON.stringify(summary)).toBe('completed');
    expect(summary.rows.rejected, JSON.stringify(summary.problems)).toBe(0);
  }

  async function run(p: { clientNumber: string; phone: string }, o: Op): Promise<void> {
    switch (o.kind) {
      case 'app': {
        const now = Date.now();
        await appChanges(
          p.clientNumber,
          o.changes.map((c) => ({
            purpose: c.purpose,
            action: c.action,
            ...(c.clock === 'server' ? {} : { occurredAt: new Date(now + c.clock) }),
          })),
        );
        return;
      }
      case 'app-dated':
        await appChanges(p.clientNumber, [
          { purpose: o.purpose, action: o.action, occurredAt: at(o.minute) },
        ]);
        return;
      case 'stop':
        return keyword(p.phone, 'STOP');
      case 'start':
        return keyword(p.phone, 'START');
      case 'operator':
        await recordOperatorWithdrawal(api.deps.db, api.config.pseudonymSecret, {
          clientNumber: p.clientNumber,
          receivedAt: dateOf(o.received, Date.now()),
          reason: 'email_request',
          actor: { type: 'operator', id: 'support.anna' },
          channels: ['sms'],
          ...(o.purpose !== undefined ? { purposes: [o.purpose] } : {}),
        });
        return;
      case 'import': {
        const now = Date.now();
        return importConsents(
          p.clientNumber,
          o.consents.map((c) => ({ purpose: c.purpose, action: c.action, occurredAt: dateOf(c.when, now) })),
        );
      }
    }
  }

  async function ledgerOf(recipientId: number): Promise<LedgerEvent[]> {
    const rows = await api.deps.db
      .selectFrom('consent_events')
      .select([
        'id',
        'purpose',
        'action',
        micros('occurred_at').as('occurred'),
        micros('recorded_at').as('recorded'),
        micros('effective_at').as('effective'),
      ])
      .where('recipient_id', '=', recipientId)
      .where('channel', '=', 'sms')
      .orderBy('id')
      .execute();
    return rows.map((r) => ({
      id: r.id,
      purpose: r.purpose as Purpose,
      action: r.action,
      occurred: BigInt(r.occurred),
      recorded: BigInt(r.recorded),
      effective: BigInt(r.effective),
    }));
  }

  async function stateOf(recipientId: number): Promise<StateRow[]> {
    const rows = await api.deps.db
      .selectFrom('consents')
      .select(['purpose', 'status', 'event_id', micros('effective_at').as('effective')])
      .where('recipient_id', '=', recipientId)
      .where('channel', '=', 'sms')
      .orderBy('purpose')
      .execute();
    return rows.map((r) => ({
      purpose: r.purpose as Purpose,
      status: r.status,
      effective: BigInt(r.effective),
      eventId: r.event_id,
    }));
  }

  /**
   * What a wave run alone must leave, whatever came before: a STOP withdraws every SMS consent; an
   * app change dated at or after the server's time — so its clock is the server's — takes effect at
   * its recording, after everything recorded before it: its withdrawal ends the consent, and its
   * grant (with no withdrawal of the same consent beside it) is in force; a START restores exactly
   * what the STOP decided.
   */
  function expectedAfterAlone(o: Op, stopped: readonly Purpose[]): Map<Purpose, 'granted' | 'withdrawn'> {
    const expected = new Map<Purpose, 'granted' | 'withdrawn'>();
    if (o.kind === 'stop') for (const p of PURPOSES) expected.set(p, 'withdrawn');
    if (o.kind === 'start') for (const p of stopped) expected.set(p, 'granted');
    if (o.kind === 'app') {
      for (const p of PURPOSES) {
        const mine = o.changes.filter((c) => c.purpose === p);
        const atRecording = mine.filter((c) => c.clock === 'server' || c.clock > 0);
        if (atRecording.some((c) => c.action === 'withdraw')) expected.set(p, 'withdrawn');
        else if (atRecording.some((c) => c.action === 'grant') && mine.every((c) => c.action === 'grant'))
          expected.set(p, 'granted');
      }
    }
    return expected;
  }

  it('ends every consent in the change taking effect last (the earlier of occurred and recorded), a withdrawal winning ties, whatever the clocks and the races', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (waves) => {
        const p = await createPerson('R');
        for (const wave of waves) {
          const [only] = wave;
          // what a START alone must restore: the consents a STOP decided
          const stopped =
            only?.kind === 'start'
              ? await api.deps.db
                  .selectFrom('consents')
                  .select('purpose')
                  .where('recipient_id', '=', p.id)
                  .where('channel', '=', 'sms')
                  .where('source', '=', 'sms_keyword')
                  .where('status', '=', 'withdrawn')
                  .execute()
              : [];
          await Promise.all(wave.map((o) => run(p, o)));
          if (wave.length === 1 && only !== undefined) {
            const state = await stateOf(p.id);
            const expected = expectedAfterAlone(
              only,
              stopped.map((s) => s.purpose as Purpose),
            );
            for (const [purposeKey, status] of expected) {
              const row = state.find((s) => s.purpose === purposeKey);
              // a STOP with nothing in force records nothing, and there may be no row at all
              if (row === undefined && only.kind === 'stop') continue;
              expect(row?.status, `${only.kind} alone, then ${purposeKey}: ${JSON.stringify(only)}`).toBe(
                status,
              );
            }
          }
        }

        const ledger = await ledgerOf(p.id);
        // the database computes the effective time of every event as the rule says
        for (const e of ledger) expect(e.effective, `event ${e.id}`).toBe(effectOf(e));
        const state = await stateOf(p.id);
        expect(state.map((s) => s.purpose)).toEqual(
          PURPOSES.filter((x) => ledger.some((e) => e.purpose === x)),
        );
        for (const row of state) {
          const expected = modelState(ledger.filter((e) => e.purpose === row.purpose));
          expect(row.status, `${row.purpose}: ${JSON.stringify(waves)}`).toBe(expected?.status);
          expect(row.effective, row.purpose).toBe(expected?.effective);
          expect(expected?.ids, row.purpose).toContain(row.eventId);
        }
      }),
      { numRuns: 100 },
    );
  });

  describe('the named cases', () => {
    it('lets a withdrawal recorded a minute after a grant from a client two minutes fast end it, though the grant is dated later', async () => {
      const p = await createPerson('FAST');
      const granted = await appChanges(p.clientNumber, [
        { purpose: 'contests', action: 'grant', occurredAt: new Date(Date.now() + 2 * MINUTE) },
      ]);
      // the unsubscribe a minute later is stamped with the server's time: here, SMS STOP
      await keyword(p.phone, 'STOP');
      const [grant, withdrawal] = await ledgerOf(p.id);
      expect(grant?.action).toBe('grant');
      expect(withdrawal?.action).toBe('withdraw');
      // the old rule (the later occurred_at wins) kept the grant
      expect(grant && withdrawal && grant.occurred > withdrawal.occurred).toBe(true);
      // the grant counts from its recording
      expect(Date.parse(granted.events[0]?.effective_at ?? '')).toBeLessThan(Date.now());
      expect(grant?.effective).toBe(grant?.recorded);
      expect(await stateOf(p.id)).toMatchObject([{ purpose: 'contests', status: 'withdrawn' }]);
    });

    it('lets an app withdrawal from a client two minutes fast end a grant recorded before it', async () => {
      const p = await createPerson('FAST2');
      await appChanges(p.clientNumber, [{ purpose: 'contests', action: 'grant' }]);
      await appChanges(p.clientNumber, [
        { purpose: 'contests', action: 'withdraw', occurredAt: new Date(Date.now() + 2 * MINUTE) },
      ]);
      expect(await stateOf(p.id)).toMatchObject([{ purpose: 'contests', status: 'withdrawn' }]);
    });

    describe('a withdrawal received by e-mail yesterday at 09:00 and entered today (consent withdraw --received-at)', () => {
      const yesterday = (hour: number) => {
        const d = new Date();
        d.setUTCDate(d.getUTCDate() - 1);
        d.setUTCHours(hour, 0, 0, 0);
        return d;
      };
      const withdrawByCli = (clientNumber: string) =>
        runConsentcast(
          [
            'consent',
            'withdraw',
            clientNumber,
            '--channel',
            'sms',
            '--reason',
            'email_request',
            '--received-at',
            yesterday(9).toISOString(),
            '--actor',
            'support.anna',
            '--json',
          ],
          { ...exampleEnv(), DATABASE_URL: t.appUrl, REDIS_URL: inject('services').redisUrl },
        );

      it('leaves in force a re-grant the person made after 09:00 (yesterday 15:00, recorded before the entry): the later change wins, the withdrawal is evidence only', async () => {
        const p = await createPerson('BACK');
        await appChanges(p.clientNumber, [
          {
            purpose: 'service_offers',
            action: 'grant',
            occurredAt: new Date(Date.now() - 30 * 24 * 60 * MINUTE),
          },
        ]);
        await appChanges(p.clientNumber, [
          { purpose: 'service_offers', action: 'grant', occurredAt: yesterday(15) },
        ]);
        const result = await withdrawByCli(p.clientNumber);
        expect(result.code, result.stderr).toBe(0);
        expect(JSON.parse(result.stdout)).toEqual({
          received_at: yesterday(9).toISOString(),
          withdrawn: [{ purpose: 'service_offers', channel: 'sms', applied: false }],
        });
        expect(await stateOf(p.id)).toMatchObject([{ purpose: 'service_offers', status: 'granted' }]);
        const withdrawal = (await ledgerOf(p.id)).find((e) => e.action === 'withdraw');
        expect(withdrawal?.effective).toBe(BigInt(yesterday(9).getTime()) * 1000n);
      });

      it('ends a grant the person made before 09:00 (yesterday 08:00), though it was recorded later than the request arrived', async () => {
        const p = await createPerson('BACK2');
        await appChanges(p.clientNumber, [
          { purpose: 'service_offers', action: 'grant', occurredAt: yesterday(8) },
        ]);
        const result = await withdrawByCli(p.clientNumber);
        expect(result.code, result.stderr).toBe(0);
        expect(JSON.parse(result.stdout)).toMatchObject({
          withdrawn: [{ purpose: 'service_offers', channel: 'sms', applied: true }],
        });
        expect(await stateOf(p.id)).toMatchObject([{ purpose: 'service_offers', status: 'withdrawn' }]);
      });

      it('is itself undone by a re-grant made after it was entered', async () => {
        const p = await createPerson('BACK3');
        await appChanges(p.clientNumber, [
          { purpose: 'service_offers', action: 'grant', occurredAt: yesterday(8) },
        ]);
        expect((await withdrawByCli(p.clientNumber)).code).toBe(0);
        await appChanges(p.clientNumber, [{ purpose: 'service_offers', action: 'grant' }]);
        expect(await stateOf(p.id)).toMatchObject([{ purpose: 'service_offers', status: 'granted' }]);
      });
    });

    it('gives an exact tie to the withdrawal: a backdated operator withdrawal at the instant of a grant', async () => {
      const p = await createPerson('TIE1');
      await appChanges(p.clientNumber, [{ purpose: 'contests', action: 'grant', occurredAt: at(1) }]);
      const [change] = await recordOperatorWithdrawal(api.deps.db, api.config.pseudonymSecret, {
        clientNumber: p.clientNumber,
        receivedAt: at(1),
        reason: 'email_request',
        actor: { type: 'operator', id: 'support.anna' },
      });
      expect(change?.applied).toBe(true);
      expect(await stateOf(p.id)).toMatchObject([{ purpose: 'contests', status: 'withdrawn' }]);
    });

    it('gives an exact tie to the withdrawal whichever arrives first: a grant at the instant of a recorded withdrawal changes nothing', async () => {
      const p = await createPerson('TIE2');
      await appChanges(p.clientNumber, [{ purpose: 'contests', action: 'withdraw', occurredAt: at(2) }]);
      const reply = await appChanges(p.clientNumber, [
        { purpose: 'contests', action: 'grant', occurredAt: at(2) },
      ]);
      expect(reply.events[0]?.applied).toBe(false);
      await importConsents(p.clientNumber, [{ purpose: 'contests', action: 'grant', occurredAt: at(2) }]);
      expect(await stateOf(p.id)).toMatchObject([{ purpose: 'contests', status: 'withdrawn' }]);
    });

    it('lets an imported withdrawal end a grant from a client three minutes fast when the import records it later, though the grant is dated later', async () => {
      const p = await createPerson('IMP1');
      const now = Date.now();
      await appChanges(p.clientNumber, [
        { purpose: 'contests', action: 'grant', occurredAt: new Date(now + 3 * MINUTE) },
      ]);
      await importConsents(p.clientNumber, [
        { purpose: 'contests', action: 'withdraw', occurredAt: new Date(now + MINUTE) },
      ]);
      expect(await stateOf(p.id)).toMatchObject([{ purpose: 'contests', status: 'withdrawn' }]);
    });

    it('gives an exact tie to the withdrawal when one imported row grants and withdraws, both dated ahead of the import', async () => {
      const p = await createPerson('IMP2');
      const now = Date.now();
      await importConsents(p.clientNumber, [
        { purpose: 'contests', action: 'grant', occurredAt: new Date(now + 4 * MINUTE) },
        { purpose: 'contests', action: 'withdraw', occurredAt: new Date(now + 3 * MINUTE) },
      ]);
      const [first, second] = await ledgerOf(p.id);
      expect(first?.effective).toBe(second?.effective);
      expect(await stateOf(p.id)).toMatchObject([{ purpose: 'contests', status: 'withdrawn' }]);
    });

    it('gives an exact tie to the withdrawal when one request grants and withdraws, both dated ahead of the server (both count from the one recording)', async () => {
      for (const order of [
        ['grant', 'withdraw'],
        ['withdraw', 'grant'],
      ] as const) {
        const p = await createPerson('TIE3');
        const now = Date.now();
        const reply = await appChanges(p.clientNumber, [
          { purpose: 'contests', action: order[0], occurredAt: new Date(now + 3 * MINUTE) },
          { purpose: 'contests', action: order[1], occurredAt: new Date(now + 4 * MINUTE) },
        ]);
        expect(reply.events[0]?.effective_at).toBe(reply.events[1]?.effective_at);
        expect(await stateOf(p.id), order.join(' then ')).toMatchObject([
          { purpose: 'contests', status: 'withdrawn' },
        ]);
      }
    });
  });
});
