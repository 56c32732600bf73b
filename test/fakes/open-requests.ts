import type { Socket } from 'node:net';

/** How a held request ended: answered after `release()`, or its client's connection closed first. */
export type HoldEnd = 'released' | 'gone';

/** A fake's open requests right now: started and not answered, and of those, the ones it holds. */
export interface OpenCount {
  readonly open: number;
  readonly held: number;
}

/**
 * The provider calls a fake has open: counted from the call's first byte (an HTTP request, an SMTP
 * MAIL FROM) until it is answered or its client's connection closes. A test that kills a worker reads
 * here how many of its provider calls were in flight at that moment, as the provider saw them.
 * Requests under a `hold` fault stay open until `release()` or until their client goes away.
 */
export class OpenRequests {
  #open = 0;
  readonly #held = new Set<() => void>();

  /** Counts one call as open; the returned function ends it (any later call of it does nothing). */
  begin(): () => void {
    this.#open += 1;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.#open -= 1;
    };
  }

  /** Holds a call until `release()` ('released') or until `connection` closes ('gone'). */
  hold(connection: Socket): Promise<HoldEnd> {
    if (connection.destroyed) return Promise.resolve('gone');
    return new Promise((resolve) => {
      const end = (how: HoldEnd) => {
        this.#held.delete(release);
        connection.off('close', gone);
        resolve(how);
      };
      const release = () => end('released');
      const gone = () => end('gone');
      this.#held.add(release);
      connection.once('close', gone);
    });
  }

  /** Lets every held call be answered; returns how many there were. */
  release(): number {
    const held = [...this.#held];
    for (const release of held) release();
    return held.length;
  }

  get count(): OpenCount {
    return { open: this.#open, held: this.#held.size };
  }
}
