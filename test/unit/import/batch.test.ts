import { describe, expect, it } from 'vitest';
import { Batch, type RowEncoder } from '../../../src/import/batch.js';

/** Encodes as readable text, so the test sees what a batch would stage. */
const encoder: RowEncoder = {
  person: (clientNumber, fields) => `${clientNumber} ${JSON.stringify(fields)}\n`,
  device: (clientNumber, line, device) => `${clientNumber} ${line} ${device.token}\n`,
  consent: (clientNumber, c) => `${clientNumber} ${c.purpose} ${c.action}\n`,
};

describe('a batch', () => {
  it('when a client number repeats, then later fields win and devices and consents add up', () => {
    const batch = new Batch(encoder);
    const consent = {
      purpose: 'contests' as const,
      channel: 'sms' as const,
      action: 'grant' as const,
      occurredAt: '2024-01-01T00:00:00Z',
      noticeVersion: 'v1',
      noticeSha256: 'a'.repeat(64),
    };
    batch.add({
      line: 2,
      clientNumber: 'C1',
      fields: { email: 'a@b.lv', locale: 'lv' },
      devices: [{ token: 'token-1111', platform: 'ios' }],
      consents: [consent],
    });
    batch.add({ line: 3, clientNumber: 'C2', fields: {}, devices: [], consents: [] });
    batch.add({
      line: 5,
      clientNumber: 'C1',
      fields: { locale: 'en', phone: null },
      devices: [],
      consents: [{ ...consent, action: 'withdraw', noticeVersion: null, noticeSha256: null }],
    });
    expect(batch.rows).toBe(3);
    expect([...batch.groups.keys()]).toEqual(['C1', 'C2']);
    const c1 = batch.groups.get('C1');
    if (c1 === undefined) throw new Error('C1 is missing');
    expect(c1.lines).toEqual([2, 5]);
    expect(batch.personText(c1)).toBe('C1 {"email":"a@b.lv","locale":"en","phone":null}\n');
    expect(c1.devices).toEqual(['C1 2 token-1111\n']);
    expect(c1.consents).toEqual(['C1 contests grant\n', 'C1 contests withdraw\n']);
  });
});
