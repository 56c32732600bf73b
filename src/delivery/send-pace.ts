/**
 * How long a claim or record batch may gather, from how long sends take.
 *
 * A batch's statement has a fixed cost in PostgreSQL and in this process (planning, a round trip,
 * waking the backend) besides its cost per message. When sends are quick (a no-op provider) jobs
 * come back fast and one turn of the event loop gathers enough of them; when sends are slow (SMTP
 * takes tens to hundreds of milliseconds) a turn gathers one or two, and the fixed costs become
 * most of the work. So a batch gathers for a fraction of what a send takes lately: the wait stays a
 * small share of each job's time, and the number of statements falls with the send rate. The
 * claim still runs after the wait, just before its send, so the re-check is as late as before.
 */
export interface SendPaceOptions {
  /** The share of a send's duration a batch may wait for more items. */
  readonly fraction: number;
  /** The longest wait, whatever sends take (a provider timing out must not stall batches). */
  readonly maxWaitMs: number;
  /** Weight of the newest send in the moving average (0-1). */
  readonly weight: number;
}

export const DEFAULT_SEND_PACE: SendPaceOptions = { fraction: 0.1, maxWaitMs: 10, weight: 0.05 };

export class SendPace {
  readonly #options: SendPaceOptions;
  #averageMs = 0;
  #samples = 0;

  constructor(options: SendPaceOptions = DEFAULT_SEND_PACE) {
    this.#options = options;
  }

  /** A send took `ms` milliseconds (whatever its outcome). */
  observe(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    // the first send sets the average; a moving average from 0 would call slow sends quick for a while
    this.#averageMs =
      this.#samples === 0 ? ms : this.#averageMs + (ms - this.#averageMs) * this.#options.weight;
    this.#samples += 1;
  }

  /** What sends have lately taken on average, once at least `minSamples` were seen. */
  averageMs(minSamples = 10): number | undefined {
    return this.#samples >= minSamples ? this.#averageMs : undefined;
  }

  /** The wait for the next batch: 0 until sends have been seen (one turn of the event loop). */
  gatherMs(): number {
    return Math.min(this.#options.maxWaitMs, this.#averageMs * this.#options.fraction);
  }
}
