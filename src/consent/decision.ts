import type { Channel, Purpose } from '../domain/vocabulary.js';

/**
 * The consent rules as pure functions. The segmentation SQL and the workers' claim statement apply the
 * same rules (consent.sql.ts); test/integration/consent/decision-sql.test.ts holds them to each other.
 */

export type ConsentAction = 'grant' | 'withdraw' | 'lapse';
export type ConsentStatus = 'granted' | 'withdrawn' | 'lapsed';

export const STATUS_OF: Readonly<Record<ConsentAction, ConsentStatus>> = {
  grant: 'granted',
  withdraw: 'withdrawn',
  lapse: 'lapsed',
};

export interface PersonMarkers {
  readonly erased: boolean;
  readonly objected: boolean;
  readonly restricted: boolean;
}

export type BlockReason = 'erased' | 'objected' | 'restricted' | 'no_consent';
export type Decision = { readonly allowed: true } | { readonly allowed: false; readonly reason: BlockReason };

/**
 * May this person be selected or sent a message of this purpose on this channel (N1, N14)? Default
 * is no: an absent state is no consent. Markers come first: an erased, objecting or restricted person
 * gets nothing whatever their consents say.
 */
export function consentDecision(status: ConsentStatus | null | undefined, markers: PersonMarkers): Decision {
  if (markers.erased) return { allowed: false, reason: 'erased' };
  if (markers.objected) return { allowed: false, reason: 'objected' };
  if (markers.restricted) return { allowed: false, reason: 'restricted' };
  if (status !== 'granted') return { allowed: false, reason: 'no_consent' };
  return { allowed: true };
}

export interface StatePoint {
  readonly status: ConsentStatus;
  /** When the change that decided the state took effect (`effectiveAt`). */
  readonly effectiveAt: Date;
}

/**
 * When a consent change takes effect (N12, N13): the earlier of when it happened (`occurredAt`, the
 * client's or operator's word) and when the database recorded it (`recordedAt`, its transaction's
 * time). A grant dated ahead of the server counts from its recording, so a fast client clock cannot
 * outrank the withdrawal that follows it; a withdrawal received yesterday and entered today counts
 * from yesterday. The database computes the same (`effective_at`, migrations/0018).
 */
export function effectiveAt(occurredAt: Date, recordedAt: Date): Date {
  return occurredAt.getTime() <= recordedAt.getTime() ? occurredAt : recordedAt;
}

/**
 * Does an arriving change replace the current state (N13)? Only when it takes effect later; at the
 * same instant a withdrawal or lapse beats a grant. Changes arriving out of order are still recorded
 * in the ledger, they just do not override a state that took effect later.
 */
export function supersedes(current: StatePoint | undefined, incoming: StatePoint): boolean {
  if (current === undefined) return true;
  const a = incoming.effectiveAt.getTime();
  const b = current.effectiveAt.getTime();
  return a > b || (a === b && current.status === 'granted' && incoming.status !== 'granted');
}

/** The state that a sequence of recorded events leaves, applied in arrival order. */
export function foldEvents(
  events: readonly { action: ConsentAction; occurredAt: Date; recordedAt: Date }[],
): StatePoint | undefined {
  let state: StatePoint | undefined;
  for (const e of events) {
    const next = { status: STATUS_OF[e.action], effectiveAt: effectiveAt(e.occurredAt, e.recordedAt) };
    if (supersedes(state, next)) state = next;
  }
  return state;
}

export interface ConsentKey {
  readonly purpose: Purpose;
  readonly channel: Channel;
}
