import { createHash } from 'node:crypto';
import { appendFileSync } from 'node:fs';

export type FakeChannel = 'email' | 'sms' | 'push';

/**
 * What a fake did with a message: `accepted` (answered at once), `delayed` (answered late),
 * `dropped` (taken, then the connection was cut without an answer: the "maybe sent" case),
 * `held` (taken, answered only when released, or never if the client went away first: "maybe sent"
 * too), `rejected` (answered with an error; not delivered).
 */
export type Handling = 'accepted' | 'delayed' | 'dropped' | 'held' | 'rejected';

/** One line of the JSONL delivery log. */
export interface Delivery {
  readonly time: string;
  readonly channel: FakeChannel;
  /** Address, number or device token the message was for. */
  readonly to: string;
  /** The id the fake gave it (queue id, SM sid, FCM name); null when rejected. */
  readonly providerId: string | null;
  /** The outbox message id the message carried (header, callback URL or data), when any. */
  readonly messageId: string | null;
  /** SHA-256 of the content (subject + text + html, SMS body, push title + body). */
  readonly contentHash: string;
  /** The headers and fields that matter: List-Unsubscribe, StatusCallback, ... */
  readonly headers: Readonly<Record<string, string>>;
  readonly handling: Handling;
  /** The provider has the message (everything but `rejected`): what "sent" means in tests. */
  readonly delivered: boolean;
  /** The error status of a rejection: SMTP reply code or HTTP status. */
  readonly status?: number;
}

export interface DeliveryFilter {
  readonly channel?: FakeChannel;
  readonly messageId?: string;
  readonly to?: string;
}

export function contentHash(...parts: readonly string[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part).update('\u0000');
  return hash.digest('hex');
}

/**
 * Every message the fakes received, in memory and, with a file, appended to it as JSON lines
 * (synchronously, so a reader after the process ends sees every line).
 */
export class DeliveryLog {
  readonly #entries: Delivery[] = [];
  readonly #file: string | undefined;

  constructor(file?: string) {
    this.#file = file;
  }

  record(entry: Omit<Delivery, 'time' | 'delivered'>): Delivery {
    const delivery: Delivery = {
      time: new Date().toISOString(),
      ...entry,
      delivered: entry.handling !== 'rejected',
    };
    this.#entries.push(delivery);
    if (this.#file !== undefined) appendFileSync(this.#file, `${JSON.stringify(delivery)}\n`);
    return delivery;
  }

  entries(filter: DeliveryFilter = {}): Delivery[] {
    return this.#entries.filter(
      (d) =>
        (filter.channel === undefined || d.channel === filter.channel) &&
        (filter.messageId === undefined || d.messageId === filter.messageId) &&
        (filter.to === undefined || d.to === filter.to),
    );
  }

  /** How many times the provider got the message: the count that must never exceed one. */
  deliveredCount(filter: DeliveryFilter = {}): number {
    return this.entries(filter).filter((d) => d.delivered).length;
  }

  clear(): void {
    this.#entries.length = 0;
  }
}
