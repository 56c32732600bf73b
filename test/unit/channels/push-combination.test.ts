import { describe, expect, it } from 'vitest';
import { combinePushResults } from '../../../src/channels/push/combine.js';
import type { SendResult } from '../../../src/channels/send-result.js';

const ok: SendResult = { kind: 'accepted', providerId: 'projects/p/messages/1' };
const dead: SendResult = { kind: 'permanent', reason: 'dead_token', code: '404', detail: 'gone' };
const rejected: SendResult = { kind: 'permanent', reason: 'rejected', code: '403', detail: 'no' };
const maybe: SendResult = { kind: 'unknown', code: 'ECONNRESET', detail: 'reset' };
const later = (ms: number): SendResult => ({
  kind: 'retry',
  code: '429',
  detail: 'slow down',
  retryAfterMs: ms,
});

describe('combining the results of one message sent to several devices', () => {
  it('is accepted when any device accepted, and still lists the dead tokens', () => {
    const result = combinePushResults([
      { token: 'a', result: later(1_000) },
      { token: 'b', result: ok },
      { token: 'c', result: dead },
    ]);
    expect(result).toMatchObject({ kind: 'accepted', deadTokens: ['c'] });
  });

  it('is unknown, never retried, when no device accepted but one may have got it', () => {
    expect(
      combinePushResults([
        { token: 'a', result: later(1_000) },
        { token: 'b', result: maybe },
      ]).kind,
    ).toBe('unknown');
  });

  it('is retry after the longest Retry-After when nothing arrived anywhere', () => {
    const result = combinePushResults([
      { token: 'a', result: later(1_000) },
      { token: 'b', result: later(9_000) },
      { token: 'c', result: dead },
    ]);
    expect(result).toMatchObject({ kind: 'retry', retryAfterMs: 9_000, deadTokens: ['c'] });
  });

  it('is a dead token when every token is dead', () => {
    expect(
      combinePushResults([
        { token: 'a', result: dead },
        { token: 'b', result: dead },
      ]),
    ).toMatchObject({
      kind: 'permanent',
      reason: 'dead_token',
      deadTokens: ['a', 'b'],
    });
  });

  it('is rejected when the tokens are dead or the message was refused', () => {
    expect(
      combinePushResults([
        { token: 'a', result: dead },
        { token: 'b', result: rejected },
      ]),
    ).toMatchObject({
      kind: 'permanent',
      reason: 'rejected',
      deadTokens: ['a'],
    });
  });

  it('refuses an empty list', () => {
    expect(() => combinePushResults([])).toThrow(TypeError);
  });
});
