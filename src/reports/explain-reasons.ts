import { foldEvents, STATUS_OF } from '../consent/decision.js';
import type { Db } from '../db/database.js';
import type { JsonValue } from '../db/schema.js';
import type { Channel, Purpose } from '../domain/vocabulary.js';
import type { ExclusionReason } from './report.js';

/**
 * The details behind one exclusion reason, for explain: since when, and what exactly. Read from the
 * records that decide it — the consent ledger, the person's markers, suppressions, devices — never
 * re-derived from the run's counters.
 */

export interface PersonFacts {
  readonly id: number;
  readonly createdAt: Date;
  readonly restrictedAt: Date | null;
  readonly objectedAt: Date | null;
  readonly profilingObjectedAt: Date | null;
  readonly erasedAt: Date | null;
  readonly hasEmail: boolean;
  readonly hasPhone: boolean;
  readonly emailHash: string | null;
  readonly phoneHash: string | null;
}

export async function personFacts(db: Db, recipientId: number): Promise<PersonFacts | undefined> {
  const row = await db
    .selectFrom('recipients')
    .select([
      'id',
      'created_at',
      'restricted_at',
      'objected_at',
      'profiling_objected_at',
      'erased_at',
      'email_hash',
      'phone_hash',
    ])
    .select((eb) => [
      eb('email', 'is not', null).as('has_email'),
      eb('phone', 'is not', null).as('has_phone'),
    ])
    .where('id', '=', recipientId)
    .executeTakeFirst();
  return (
    row && {
      id: row.id,
      createdAt: row.created_at,
      restrictedAt: row.restricted_at,
      objectedAt: row.objected_at,
      profilingObjectedAt: row.profiling_objected_at,
      erasedAt: row.erased_at,
      hasEmail: row.has_email === true,
      hasPhone: row.has_phone === true,
      emailHash: row.email_hash,
      phoneHash: row.phone_hash,
    }
  );
}

export interface ReasonDetail {
  /** Since when the reason held, where a record says so; null when nothing records it. */
  readonly since: Date | null;
  readonly text: string;
  readonly detail: Record<string, JsonValue>;
}

const day = (d: Date) => d.toISOString();

/**
 * The consent for purpose × channel as the ledger stood at `at` (events recorded by then, folded in
 * arrival order as the current-state table was), and as it stands now.
 */
async function consentAt(db: Db, person: number, purpose: Purpose, channel: Channel, at: Date) {
  const events = await db
    .selectFrom('consent_events')
    .select(['action', 'occurred_at', 'recorded_at', 'effective_at', 'source'])
    .where('recipient_id', '=', person)
    .where('purpose', '=', purpose)
    .where('channel', '=', channel)
    .orderBy('id')
    .execute();
  const before = events.filter((e) => e.recorded_at <= at);
  const state = foldEvents(
    before.map((e) => ({ action: e.action, occurredAt: e.occurred_at, recordedAt: e.recorded_at })),
  );
  // the first to arrive of those taking effect at that instant with that status: a later equal one
  // does not supersede it
  const deciding =
    state &&
    before.find(
      (e) => e.effective_at.getTime() === state.effectiveAt.getTime() && STATUS_OF[e.action] === state.status,
    );
  return { state, source: deciding?.source ?? null, ledgerEvents: events.length };
}

export async function explainReason(
  db: Db,
  input: {
    readonly person: PersonFacts;
    readonly purpose: Purpose;
    readonly channel: Channel;
    readonly reason: ExclusionReason;
    /** When the run (or the evaluation) looked. */
    readonly at: Date;
    readonly cap: { max: number; windowHours: number };
  },
): Promise<ReasonDetail> {
  const { person, purpose, channel, reason, at } = input;
  switch (reason) {
    case 'no_consent': {
      const c = await consentAt(db, person.id, purpose, channel, at);
      if (!c.state) {
        return {
          since: null,
          text: `no consent for ${purpose} on ${channel}: none was ever recorded${c.ledgerEvents > 0 ? ' before then' : ''}`,
          detail: { consent_status: 'none', source: null },
        };
      }
      return {
        since: c.state.effectiveAt,
        text: `no consent for ${purpose} on ${channel}: ${c.state.status} since ${day(c.state.effectiveAt)}${c.source ? ` (source ${c.source})` : ''}`,
        detail: { consent_status: c.state.status, source: c.source },
      };
    }
    case 'restricted':
      return {
        since: person.restrictedAt,
        text: `processing is restricted (N14)${person.restrictedAt ? ` since ${day(person.restrictedAt)}` : '; the restriction has been lifted since'}`,
        detail: {},
      };
    case 'objected':
      return {
        since: person.objectedAt,
        text: `the person objected to direct marketing (N14)${person.objectedAt ? ` on ${day(person.objectedAt)}` : ''}`,
        detail: {},
      };
    case 'erased':
      return {
        since: person.erasedAt,
        text: `the person's data was erased (N14)${person.erasedAt ? ` on ${day(person.erasedAt)}` : ''}`,
        detail: {},
      };
    case 'suppressed': {
      const hash = channel === 'email' ? person.emailHash : channel === 'sms' ? person.phoneHash : null;
      const row =
        hash === null || channel === 'push'
          ? undefined
          : await db
              .selectFrom('suppressions')
              .select(['reason', 'created_at'])
              .where('channel', '=', channel)
              .where('address_hash', '=', hash)
              .executeTakeFirst();
      return {
        since: row?.created_at ?? null,
        text: `the ${channel === 'email' ? 'address' : 'number'} is suppressed${row ? ` (${row.reason}) since ${day(row.created_at)}` : ''}`,
        detail: { suppression_reason: row?.reason ?? null },
      };
    }
    case 'no_contact': {
      if (channel !== 'push') {
        const has = channel === 'email' ? person.hasEmail : person.hasPhone;
        return {
          since: null,
          text: `no ${channel === 'email' ? 'e-mail address' : 'phone number'}${has ? ' at the time (there is one now)' : ''}`,
          detail: { missing: channel === 'email' ? 'email' : 'phone' },
        };
      }
      const devices = await db
        .selectFrom('devices')
        .select(['invalidated_at', 'invalid_reason'])
        .where('recipient_id', '=', person.id)
        .orderBy('invalidated_at', 'desc')
        .execute();
      const dead = devices.filter((d) => d.invalidated_at !== null);
      const last = dead[0];
      return {
        since: last?.invalidated_at ?? null,
        text:
          devices.length === 0
            ? 'no app device is registered'
            : `no live app device${last ? `: the last token was invalidated (${last.invalid_reason}) on ${day(last.invalidated_at as Date)}` : ''}`,
        detail: {
          devices: devices.length,
          invalidated: dead.length,
          invalid_reason: last?.invalid_reason ?? null,
        },
      };
    }
    case 'frequency_cap':
      return {
        since: null,
        text: `the frequency cap (N15) of ${input.cap.max} per ${input.cap.windowHours}h was reached`,
        detail: { cap_max: input.cap.max, cap_window_hours: input.cap.windowHours },
      };
    case 'no_eligible_offer':
      return {
        since: null,
        text: `no offer of ${purpose} was eligible for the person with content for ${channel}`,
        detail: {},
      };
    case 'channel_strategy':
      return { since: null, text: 'another channel was chosen (channel strategy first)', detail: {} };
  }
}
