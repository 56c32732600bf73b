import { describe, expect, it } from 'vitest';
import { type BatcherOptions, createBatcher } from '../../../src/delivery/batcher.js';

function recording(options: BatcherOptions) {
  const batches: number[][] = [];
  const batcher = createBatcher<number, number>(async (items) => {
    batches.push([...items]);
    return items.map((i) => i * 10);
  }, options);
  return { batches, batcher };
}

describe('the group-commit batcher', () => {
  it('when items are submitted in one turn of the event loop with no wait, then they go as one batch, and each caller gets its own result', async () => {
    const { batches, batcher } = recording({ maxWaitMs: 0, maxSize: 200 });
    const results = await Promise.all([1, 2, 3].map((i) => batcher.submit(i)));
    expect(results).toEqual([10, 20, 30]);
    expect(batches).toEqual([[1, 2, 3]]);
  });

  it('when items come in separate turns with no wait, then a later one does not hold back an earlier one', async () => {
    const { batches, batcher } = recording({ maxWaitMs: 0, maxSize: 200 });
    const first = batcher.submit(1);
    await new Promise((r) => setImmediate(r));
    const second = batcher.submit(2);
    expect(await Promise.all([first, second])).toEqual([10, 20]);
    expect(batches).toEqual([[1], [2]]);
  });

  it('when a timed wait is set, then items within it are gathered, and a full batch goes at once', async () => {
    const { batches, batcher } = recording({ maxWaitMs: 20, maxSize: 3 });
    const gathered = [batcher.submit(1), batcher.submit(2)];
    await new Promise((r) => setTimeout(r, 5));
    gathered.push(batcher.submit(3), batcher.submit(4));
    expect(await Promise.all(gathered)).toEqual([10, 20, 30, 40]);
    expect(batches).toEqual([[1, 2, 3], [4]]);
  });

  it('when the wait is a function, then each batch asks it afresh', async () => {
    let wait = 0;
    let asked = 0;
    const { batches, batcher } = recording({
      maxWaitMs: () => {
        asked += 1;
        return wait;
      },
      maxSize: 200,
    });
    const first = batcher.submit(1);
    await new Promise((r) => setImmediate(r));
    // the first batch went after one turn; the next one now waits 20 ms and gathers what comes in 5
    wait = 20;
    const gathered = [batcher.submit(2)];
    await new Promise((r) => setTimeout(r, 5));
    gathered.push(batcher.submit(3));
    expect(await Promise.all([first, ...gathered])).toEqual([10, 20, 30]);
    expect(batches).toEqual([[1], [2, 3]]);
    expect(asked).toBe(2);
  });

  it('when the wait is under a millisecond, then a batch goes after one turn of the event loop, not after a timer', async () => {
    const { batches, batcher } = recording({ maxWaitMs: () => 0.3, maxSize: 200 });
    const first = batcher.submit(1);
    await new Promise((r) => setImmediate(r));
    // a timer would still be pending here (Node rounds 0.3 ms up to 1 ms)
    expect(batches).toEqual([[1]]);
    expect(await first).toBe(10);
  });

  it('when a batch fails, then each of its callers is rejected with the error', async () => {
    const batcher = createBatcher<number, number>(
      async () => {
        throw new Error('database gone');
      },
      { maxWaitMs: 0, maxSize: 10 },
    );
    const outcomes = await Promise.allSettled([batcher.submit(1), batcher.submit(2)]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
  });
});
