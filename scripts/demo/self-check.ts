import type { Channel } from '../../src/domain/vocabulary.js';
import type { Delivery } from '../../test/fakes/delivery-log.js';
import type { Withdrawal } from './withdrawals.js';

/** A message of the run as PostgreSQL has it once every message has ended. */
export interface EndedMessage {
  readonly id: number;
  readonly recipientId: number;
  readonly channel: Channel;
  readonly status: string;
  /** When the claim that moved it `queued → sending` began (its transaction's now()); null if never. */
  readonly claimedAt: Date | null;
}

export interface CheckInput {
  /** Every line of the fakes' delivery log. */
  readonly deliveries: readonly Delivery[];
  readonly messages: readonly EndedMessage[];
  readonly withdrawals: readonly Withdrawal[];
  /** `${channel}:${address, number or token}` → recipient id, for the people who withdrew. */
  readonly contacts: ReadonlyMap<string, number>;
}

export interface CheckResult {
  /** Deliveries the fakes accepted (what reached a provider). */
  readonly delivered: number;
  /** Messages whose claim and the withdrawal of the same person and channel overlapped in time. */
  readonly inFlightAtWithdrawal: number;
  readonly duplicates: readonly string[];
  readonly afterWithdrawal: readonly string[];
  /** The fakes and the messages table disagree (a message sent but never received, or the reverse). */
  readonly mismatches: readonly string[];
}

export const contactKey = (channel: Channel, to: string): string =>
  `${channel}:${channel === 'email' ? to.toLowerCase() : to}`;

/** Milliseconds: the fakes log ISO times with millisecond precision, PostgreSQL keeps microseconds. */
const CLOCK_GRAIN_MS = 1;

/**
 * The demo's two promises, checked from the fakes' delivery log against the database's order:
 * - nothing arrived twice: per outbox message id, per provider id, and per person × channel (a run
 *   has one message per person and channel); every accepted delivery carries a message of the run;
 * - nobody received a message on a channel after their withdrawal for it committed: each delivery to
 *   a person who withdrew (found by message id and, independently, by address) must belong to a
 *   message whose claim began no later than the moment the withdrawal was known committed. A claim
 *   that began later ran its re-check after the commit, so it had to skip (N13).
 * Also the fakes must agree with the messages table: sent ⇒ received once; skipped or failed ⇒
 * never received.
 */
export function checkDeliveries(input: CheckInput): CheckResult {
  const messages = new Map(input.messages.map((m) => [String(m.id), m]));
  const accepted = input.deliveries.filter((d) => d.delivered);
  const duplicates: string[] = [];
  const afterWithdrawal: string[] = [];
  const mismatches: string[] = [];

  const perMessage = new Map<string, Delivery[]>();
  const perProviderId = new Map<string, number>();
  const perPersonChannel = new Map<string, string[]>();
  for (const d of accepted) {
    const m = d.messageId === null ? undefined : messages.get(d.messageId);
    if (m === undefined) {
      duplicates.push(
        `a ${d.channel} delivery at ${d.time} carries ${d.messageId === null ? 'no message id' : `message id ${d.messageId}, not a message of this run`}`,
      );
      continue;
    }
    perMessage.set(String(m.id), [...(perMessage.get(String(m.id)) ?? []), d]);
    const key = `${m.recipientId}:${m.channel}`;
    perPersonChannel.set(key, [...(perPersonChannel.get(key) ?? []), String(m.id)]);
    if (d.providerId !== null) perProviderId.set(d.providerId, (perProviderId.get(d.providerId) ?? 0) + 1);
  }
  for (const [id, list] of perMessage) {
    if (list.length > 1) duplicates.push(`message ${id} (${list[0]?.channel}) arrived ${list.length} times`);
  }
  for (const [providerId, n] of perProviderId) {
    if (n > 1) duplicates.push(`provider id ${providerId.slice(0, 12)}… was accepted ${n} times`);
  }
  for (const [key, ids] of perPersonChannel) {
    const distinct = [...new Set(ids)];
    if (distinct.length > 1) {
      const [person, channel] = key.split(':');
      duplicates.push(
        `recipient #${person} got ${distinct.length} ${channel} messages in one run (${distinct.join(', ')})`,
      );
    }
  }

  for (const m of input.messages) {
    const n = perMessage.get(String(m.id))?.length ?? 0;
    if (m.status === 'sent' && n === 0)
      mismatches.push(`message ${m.id} is sent in the database but no fake received it`);
    if ((m.status === 'skipped' || m.status === 'failed' || m.status === 'queued') && n > 0) {
      mismatches.push(`message ${m.id} is ${m.status} in the database but a fake received it`);
    }
    for (const d of perMessage.get(String(m.id)) ?? []) {
      if (m.claimedAt === null || Date.parse(d.time) + CLOCK_GRAIN_MS < m.claimedAt.getTime()) {
        mismatches.push(`message ${m.id} reached the ${d.channel} fake before any claim of it`);
      }
    }
  }

  // Withdrawals, by message and by address.
  const withdrawn = new Map<string, Withdrawal>();
  for (const w of input.withdrawals) {
    const key = `${w.recipientId}:${w.channel}`;
    const earlier = withdrawn.get(key);
    if (earlier === undefined || w.committedBy < earlier.committedBy) withdrawn.set(key, w);
  }
  let inFlight = 0;
  for (const d of accepted) {
    const m = d.messageId === null ? undefined : messages.get(d.messageId);
    const byAddress = input.contacts.get(contactKey(d.channel, d.to));
    const people = new Set([m?.recipientId, byAddress].filter((x): x is number => x !== undefined));
    for (const person of people) {
      const w = withdrawn.get(`${person}:${d.channel}`);
      if (w === undefined) continue;
      const claimed = m !== undefined && m.recipientId === person ? m.claimedAt : null;
      if (claimed !== null && claimed.getTime() <= w.committedBy.getTime()) {
        inFlight += 1;
        continue;
      }
      afterWithdrawal.push(
        `recipient #${person} received a ${d.channel} message (${m === undefined ? 'no message of the run' : `message ${m.id}, ${m.status}`}) at ${d.time}: ` +
          (claimed === null ? 'the database never claimed it' : `claimed at ${claimed.toISOString()}`) +
          `, after withdrawal event ${w.eventId} had committed (by ${w.committedBy.toISOString()})`,
      );
    }
  }
  return {
    delivered: accepted.length,
    inFlightAtWithdrawal: inFlight,
    duplicates,
    afterWithdrawal,
    mismatches,
  };
}
