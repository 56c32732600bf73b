import { describe, expect, it } from 'vitest';
import { Gate } from '../../../src/delivery/handoff.js';
import { SendPace } from '../../../src/delivery/send-pace.js';
import { LOOKAHEAD_BUDGET_MS, lookaheadSends } from '../../../src/delivery/worker.js';

describe('the hand-off gate', () => {
  it('when the limit is reached, then the next caller waits until a place is given back', async () => {
    const gate = new Gate(() => 2);
    const a = await gate.acquire();
    await gate.acquire();
    let third = false;
    const waiting = gate.acquire().then((release) => {
      third = true;
      return release;
    });
    await Promise.resolve();
    expect(third).toBe(false);
    expect(gate.held).toBe(2);
    a();
    await waiting;
    expect(third).toBe(true);
    expect(gate.held).toBe(2);
  });

  it('when a place is given back twice, then it counts once', async () => {
    const gate = new Gate(() => 1);
    const release = await gate.acquire();
    release();
    release();
    expect(gate.held).toBe(0);
  });

  it('when the limit falls, then no waiter is let in until the holders are below it', async () => {
    let limit = 3;
    const gate = new Gate(() => limit);
    const releases = await Promise.all([gate.acquire(), gate.acquire(), gate.acquire()]);
    let let_in = 0;
    const waiter = gate.acquire().then((r) => {
      let_in += 1;
      return r;
    });
    limit = 1;
    releases[0]?.();
    releases[1]?.();
    await Promise.resolve();
    expect(let_in).toBe(0);
    releases[2]?.();
    await waiter;
    expect(let_in).toBe(1);
    expect(gate.held).toBe(1);
  });

  it('when places wait, then they are served in the order they asked', async () => {
    const gate = new Gate(() => 1);
    const first = await gate.acquire();
    const order: number[] = [];
    const waits = [1, 2, 3].map((n) =>
      gate.acquire().then((release) => {
        order.push(n);
        release();
      }),
    );
    first();
    await Promise.all(waits);
    expect(order).toEqual([1, 2, 3]);
  });
});

describe('the look-ahead of a channel worker', () => {
  const paced = (ms: number, n = 10) => {
    const pace = new SendPace();
    for (let i = 0; i < n; i++) pace.observe(ms);
    return pace;
  };

  it('when no sends were seen yet, then nothing is claimed ahead', () => {
    expect(lookaheadSends(new SendPace())).toBe(0);
  });

  it('when sends take 200 ms (a slow relay), then nothing is claimed ahead', () => {
    expect(lookaheadSends(paced(200))).toBe(0);
  });

  it('when sends take 6 ms, then a slot claims what it can start within the budget', () => {
    expect(lookaheadSends(paced(6))).toBe(Math.floor(LOOKAHEAD_BUDGET_MS / 6));
  });

  it('when sends are instant, then the look-ahead is capped', () => {
    expect(lookaheadSends(paced(0))).toBe(10);
  });
});
