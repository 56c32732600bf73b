import type { Config } from '../config/config.js';
import type { Queryable } from '../db/database.js';
import type { Channel, Locale } from '../domain/vocabulary.js';

/**
 * Claim and re-check, just before sending (N1, N13). For a batch of message ids, in one transaction
 * (migration 0017's `consentcast_claim_0017`):
 *   1. lock the emergency-stop scopes of the channel ('all' and the channel) FOR SHARE: a stop being
 *      recorded waits for this commit, and one recorded first is seen by step 6;
 *   2. lock the batch's campaigns FOR SHARE: a pause or cancel orders with the claim the same way;
 *   3. lock the messages still `queued` (a duplicate job, or another worker, finds nothing to claim);
 *   4. lock their people (FOR NO KEY UPDATE): the per-person lock under which the frequency cap is
 *      counted, so two channels cannot both pass it at once; marker changes (restrict, object,
 *      erase) serialise with it;
 *   5. lock their consent rows FOR SHARE: a withdrawal being written waits for nothing more than this
 *      commit, and one committed first is seen by step 6 (a new statement, a new snapshot);
 *   6. one UPDATE decides every message: claimed (`sending`, with a lease and the call's claim batch
 *      number), skipped with the reason, or left `queued` with a time to try again (emergency stop,
 *      paused campaign, quiet hours); for the claimed ones it returns what their channel sends with
 *      (N7).
 * So a withdrawal, a stop or a pause committed before the claim always holds the message back, and
 * one committed after it was ordered after it by the locks. Nothing in Redis takes part.
 */

export type SkipReason =
  | 'consent_withdrawn'
  | 'restricted'
  | 'objected'
  | 'erased'
  | 'no_contact'
  | 'suppressed'
  | 'frequency_cap'
  | 'campaign_cancelled'
  | 'offer_unavailable';

/** Why a message stays `queued` for now: an open emergency stop, a paused campaign, quiet hours. */
export type DeferReason = 'stopped' | 'paused' | 'quiet_hours';

export type ClaimOutcome =
  | { readonly kind: 'claimed'; readonly attempt: number }
  | { readonly kind: 'skipped'; readonly reason: SkipReason }
  | { readonly kind: 'deferred'; readonly until: Date; readonly why: DeferReason }
  | { readonly kind: 'not_queued' };

export interface ClaimSettings {
  readonly leaseSeconds: number;
  /** How long a message held by a pause or an emergency stop waits before it is looked at again. */
  readonly pausedRetrySeconds: number;
  readonly policy: Config['policy'];
}

/**
 * What the channel needs to send a claimed message (N7), read by the claiming statement itself:
 * e-mail and SMS get the address or number, push the client number and live device tokens.
 */
export interface SendFields {
  readonly id: number;
  readonly offerId: number;
  readonly locale: Locale;
  readonly firstName: string | null;
  readonly lastName: string | null;
  readonly address: string | null;
  readonly clientNumber: string | null;
  readonly tokens: readonly string[] | null;
}

export interface ClaimResult {
  readonly claim: ClaimOutcome;
  /** Only for a claimed message. */
  readonly fields?: SendFields;
  /**
   * Only for a claimed message: the claim call's batch number, whose hand-off mark must be written
   * before any of its provider calls starts (src/delivery/handoff.ts).
   */
  readonly batch?: number;
}

interface Decided {
  id: number;
  decision: string;
  until: Date | null;
  attempts: number;
  claim_batch: number;
  offer_id: number | null;
  locale: Locale | null;
  first_name: string | null;
  last_name: string | null;
  address: string | null;
  client_number: string | null;
  tokens: string[] | null;
}

/** The claim, as a named statement: PostgreSQL parses it once per connection. */
const CLAIM_STATEMENT = {
  name: 'consentcast_claim_0017',
  text: `SELECT id, decision, until, attempts, claim_batch, offer_id, locale, first_name, last_name, address, client_number, tokens
    FROM consentcast_claim_0017($1::bigint[], $2::text, $3::int, $4::int, $5::int, $6::int, $7::int, $8::int, $9::int, $10::int)`,
} as const;

export async function claimMessages(
  db: Queryable,
  channel: Channel,
  ids: readonly number[],
  settings: ClaimSettings,
): Promise<ClaimOutcome[]> {
  return (await claimBatch(db, channel, ids, settings)).map((r) => r.claim);
}

/** Claims a batch and returns, with each claimed message, the fields its channel sends with. */
export async function claimBatch(
  db: Queryable,
  channel: Channel,
  ids: readonly number[],
  settings: ClaimSettings,
): Promise<ClaimResult[]> {
  const unique = [...new Set(ids)].sort((a, b) => a - b);
  const { policy } = settings;
  // One round trip: migration 0017's consentcast_claim_0017 runs the six steps above as statements of
  // one function, each with a fresh snapshot, in the transaction of this one call.
  const { rows: decided } = await db.query<Decided>({
    ...CLAIM_STATEMENT,
    values: [
      unique,
      channel,
      settings.leaseSeconds,
      settings.pausedRetrySeconds,
      policy.frequencyCap.max,
      policy.frequencyCap.windowHours,
      policy.frequencyCapCeiling.max,
      policy.frequencyCapCeiling.windowHours,
      policy.quietHours.startMinute,
      policy.quietHours.endMinute,
    ],
  });
  const byId = new Map(decided.map((d) => [Number(d.id), d]));
  // Duplicate jobs of one message can meet in one batch: only the first gets the decision, the
  // others find the message already taken — or each copy would send.
  const answered = new Set<number>();
  return ids.map((id): ClaimResult => {
    const d = byId.get(id);
    if (!d || answered.has(id)) return { claim: { kind: 'not_queued' } };
    answered.add(id);
    if (d.decision === 'claim') {
      const fields = sendFields(d);
      const claim = { kind: 'claimed', attempt: d.attempts } as const;
      return fields === undefined ? { claim, batch: d.claim_batch } : { claim, fields, batch: d.claim_batch };
    }
    if (d.decision.startsWith('skip:')) {
      return { claim: { kind: 'skipped', reason: d.decision.slice(5) as SkipReason } };
    }
    return {
      claim: {
        kind: 'deferred',
        until: d.until ?? new Date(Date.now() + settings.pausedRetrySeconds * 1000),
        why: deferReason(d.decision),
      },
    };
  });
}

function deferReason(decision: string): DeferReason {
  if (decision === 'defer:stopped') return 'stopped';
  return decision === 'defer:paused' ? 'paused' : 'quiet_hours';
}

function sendFields(d: Decided): SendFields | undefined {
  if (d.offer_id === null || d.locale === null) return undefined;
  return {
    id: Number(d.id),
    offerId: Number(d.offer_id),
    locale: d.locale,
    firstName: d.first_name,
    lastName: d.last_name,
    address: d.address,
    clientNumber: d.client_number,
    tokens: d.tokens,
  };
}
