/**
 * Group commit for concurrent jobs (FACTS.md: one round trip per message caps delivery near 0.1 of
 * the queue's speed; gathering the ids of concurrent jobs for a millisecond or two reaches about 0.5).
 * Each caller awaits its own item's result; a failing batch fails each of its callers.
 *
 * `maxWaitMs: 0` gathers what is submitted until the event loop next checks for I/O (setImmediate):
 * the jobs BullMQ hands over together, without a timer's millisecond of latency on each.
 */
export interface Batcher<I, O> {
  submit(item: I): Promise<O>;
  /** Runs what is gathered now (shutdown). */
  flush(): Promise<void>;
}

export interface BatcherOptions {
  /**
   * How long the first item of a batch waits for others (under 1 ms: until the event loop next polls
   * I/O).
   * A function is asked again for each batch, so the wait can follow what the caller observes.
   */
  readonly maxWaitMs: number | (() => number);
  /** A batch this size goes at once. */
  readonly maxSize: number;
}

export function createBatcher<I, O>(
  run: (items: readonly I[]) => Promise<readonly O[]>,
  options: BatcherOptions,
): Batcher<I, O> {
  const { maxWaitMs } = options;
  const waitMs = typeof maxWaitMs === 'number' ? () => maxWaitMs : maxWaitMs;
  let pending: { item: I; resolve: (o: O) => void; reject: (e: unknown) => void }[] = [];
  let cancel: (() => void) | undefined;
  let inFlight: Promise<void> = Promise.resolve();

  const fire = (): Promise<void> => {
    cancel?.();
    cancel = undefined;
    const batch = pending;
    pending = [];
    if (batch.length === 0) return inFlight;
    const done = run(batch.map((b) => b.item)).then(
      (results) => {
        batch.forEach((b, i) => {
          const r = results[i];
          if (r === undefined) b.reject(new Error('batch returned fewer results than items'));
          else b.resolve(r);
        });
      },
      (err: unknown) => {
        for (const b of batch) b.reject(err);
      },
    );
    inFlight = done;
    return done;
  };

  return {
    submit(item) {
      return new Promise<O>((resolve, reject) => {
        pending.push({ item, resolve, reject });
        if (pending.length >= options.maxSize) void fire();
        else if (cancel === undefined) cancel = schedule(() => void fire(), waitMs());
      });
    },
    flush: fire,
  };
}

function schedule(run: () => void, waitMs: number): () => void {
  // Timers count whole milliseconds (Node makes 0.3 ms into 1 ms): a shorter wait is one turn.
  if (!(waitMs >= 1)) {
    const handle = setImmediate(run);
    return () => clearImmediate(handle);
  }
  const handle = setTimeout(run, waitMs);
  return () => clearTimeout(handle);
}
