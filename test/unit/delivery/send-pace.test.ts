import { describe, expect, it } from 'vitest';
import { SendPace } from '../../../src/delivery/send-pace.js';

describe('the pace of sends, which sets how long a batch gathers', () => {
  it('when no send has been seen yet, then batches gather for one turn of the event loop only', () => {
    expect(new SendPace().gatherMs()).toBe(0);
  });

  it('when sends take a steady time, then a batch gathers for the configured share of it', () => {
    const pace = new SendPace({ fraction: 0.1, maxWaitMs: 10, weight: 0.5 });
    for (let i = 0; i < 40; i++) pace.observe(40);
    expect(pace.gatherMs()).toBeCloseTo(4, 5);
  });

  it('when sends are quick, then the wait stays near zero', () => {
    const pace = new SendPace({ fraction: 0.1, maxWaitMs: 10, weight: 0.5 });
    for (let i = 0; i < 40; i++) pace.observe(0.05);
    expect(pace.gatherMs()).toBeLessThan(0.01);
  });

  it('when a provider times out, then the wait is capped', () => {
    const pace = new SendPace({ fraction: 0.1, maxWaitMs: 10, weight: 0.5 });
    for (let i = 0; i < 40; i++) pace.observe(30_000);
    expect(pace.gatherMs()).toBe(10);
  });

  it('when sends get quicker, then the wait follows them down', () => {
    const pace = new SendPace({ fraction: 0.1, maxWaitMs: 10, weight: 0.2 });
    for (let i = 0; i < 40; i++) pace.observe(50);
    const slow = pace.gatherMs();
    for (let i = 0; i < 40; i++) pace.observe(5);
    expect(slow).toBeCloseTo(5, 1);
    expect(pace.gatherMs()).toBeLessThan(0.6);
  });

  it('when a duration is not a number of milliseconds, then it is ignored', () => {
    const pace = new SendPace({ fraction: 0.1, maxWaitMs: 10, weight: 0.5 });
    pace.observe(20);
    const before = pace.gatherMs();
    pace.observe(Number.NaN);
    pace.observe(-5);
    expect(pace.gatherMs()).toBe(before);
  });

  it('when fewer than the asked number of sends were seen, then there is no average yet', () => {
    const pace = new SendPace();
    for (let i = 0; i < 9; i++) pace.observe(1);
    expect(pace.averageMs()).toBeUndefined();
    pace.observe(1);
    expect(pace.averageMs()).toBeCloseTo(1, 5);
  });

  it('when the first sends are slow, then they count at once, not after a climb from zero', () => {
    const pace = new SendPace({ fraction: 0.1, maxWaitMs: 10, weight: 0.05 });
    for (let i = 0; i < 10; i++) pace.observe(200);
    expect(pace.averageMs()).toBeCloseTo(200, 5);
    expect(pace.gatherMs()).toBe(10);
  });
});
