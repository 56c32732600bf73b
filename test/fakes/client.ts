import type { Delivery, DeliveryFilter, FakeChannel } from './delivery-log.js';
import type { FaultRule } from './faults.js';
import type { OpenCount } from './open-requests.js';

/** Talks to the control API of fakes running in another process (see fakes.ts). */
export class FakesClient {
  readonly #base: string;

  constructor(controlPort: number, host = '127.0.0.1') {
    this.#base = `http://${host}:${controlPort}`;
  }

  async addFault(channel: FakeChannel, rule: FaultRule): Promise<void> {
    await this.#call('POST', '/faults', { channel, ...rule });
  }

  async clearFaults(channel?: FakeChannel): Promise<void> {
    await this.#call('DELETE', `/faults${channel === undefined ? '' : `?channel=${channel}`}`);
  }

  /** Each channel's provider calls started and not yet answered, and how many of them are held. */
  async openRequests(): Promise<Record<FakeChannel, OpenCount>> {
    return (await this.#call('GET', '/open')) as Record<FakeChannel, OpenCount>;
  }

  /** Answers the held calls (of one channel, or all); resolves with how many there were. */
  async release(channel?: FakeChannel): Promise<number> {
    const body = (await this.#call(
      'POST',
      `/release${channel === undefined ? '' : `?channel=${channel}`}`,
    )) as {
      released: number;
    };
    return body.released;
  }

  async deliveries(filter: DeliveryFilter = {}): Promise<Delivery[]> {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(filter)) if (value !== undefined) query.set(key, String(value));
    const body = (await this.#call('GET', `/deliveries?${query}`)) as { deliveries: Delivery[] };
    return body.deliveries;
  }

  async clearDeliveries(): Promise<void> {
    await this.#call('DELETE', '/deliveries');
  }

  async #call(method: string, path: string, body?: unknown): Promise<unknown> {
    const response = await fetch(`${this.#base}${path}`, {
      method,
      ...(body !== undefined
        ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }
        : {}),
    });
    const json: unknown = await response.json();
    if (!response.ok)
      throw new Error(`fakes control ${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
    return json;
  }
}
