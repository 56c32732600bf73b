import { describe, expect, it } from 'vitest';
import { parseRunJob } from '../../../src/campaigns/runs.repository.js';
import { parseTick } from '../../../src/campaigns/schedule.js';
import { parseIdPayload } from '../../../src/queue/id-payload.js';
import { parseSendJob } from '../../../src/queue/send-jobs.js';

describe('ids-only job payloads (N16: nothing personal in Redis)', () => {
  it('reads exactly one positive integer id under its key', () => {
    expect(parseSendJob({ messageId: 7 })).toEqual({ messageId: 7 });
    expect(parseRunJob({ runId: 3 })).toEqual({ runId: 3 });
    expect(parseTick({ campaignId: 12 })).toEqual({ campaignId: 12 });
  });

  it('refuses extra fields, other keys, non-integers, non-positive ids, arrays and non-objects', () => {
    for (const data of [
      { messageId: 7, email: 'anna@example.lv' },
      { runId: 7 },
      { messageId: '7' },
      { messageId: 1.5 },
      { messageId: 0 },
      { messageId: -3 },
      { messageId: Number.MAX_SAFE_INTEGER + 1 },
      [7],
      null,
      7,
      'messageId',
    ]) {
      expect(parseIdPayload(data, 'messageId'), JSON.stringify(data)).toBeUndefined();
    }
  });
});
