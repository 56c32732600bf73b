import { describe, expect, it } from 'vitest';
import { checkDeliveries, contactKey, type EndedMessage } from '../../../scripts/demo/self-check.js';
import type { Withdrawal } from '../../../scripts/demo/withdrawals.js';
import type { Delivery } from '../../fakes/delivery-log.js';

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 12, 0, s));

function delivery(messageId: string | null, time: Date, over: Partial<Delivery> = {}): Delivery {
  return {
    time: time.toISOString(),
    channel: 'email',
    to: 'person1@example.com',
    providerId: `Q${Math.random()}`,
    messageId,
    contentHash: 'h',
    headers: {},
    handling: 'accepted',
    delivered: true,
    ...over,
  };
}

const message = (id: number, status: string, claimedAt: Date | null, recipientId = 1): EndedMessage => ({
  id,
  recipientId,
  channel: 'email',
  status,
  claimedAt,
});

const withdrawal: Withdrawal = {
  recipientId: 1,
  purpose: 'service_offers',
  channel: 'email',
  eventId: 77,
  committedBy: at(10),
};
const contacts = new Map([[contactKey('email', 'person1@example.com'), 1]]);

describe('the demo self-check (N13, never twice)', () => {
  it('passes a message claimed before the withdrawal committed, even if it arrives after', () => {
    const result = checkDeliveries({
      deliveries: [delivery('1', at(12))],
      messages: [message(1, 'sent', at(9))],
      withdrawals: [withdrawal],
      contacts,
    });
    expect(result).toMatchObject({
      duplicates: [],
      afterWithdrawal: [],
      mismatches: [],
      inFlightAtWithdrawal: 1,
    });
  });

  it('fails a message whose claim began after the withdrawal committed', () => {
    const result = checkDeliveries({
      deliveries: [delivery('1', at(12))],
      messages: [message(1, 'sent', at(11))],
      withdrawals: [withdrawal],
      contacts,
    });
    expect(result.afterWithdrawal).toHaveLength(1);
    expect(result.afterWithdrawal[0]).toContain('withdrawal event 77');
  });

  it('fails a delivery to a withdrawn address that no claim explains, found by address alone', () => {
    const result = checkDeliveries({
      deliveries: [delivery(null, at(12))],
      messages: [],
      withdrawals: [withdrawal],
      contacts,
    });
    expect(result.afterWithdrawal[0]).toContain('the database never claimed it');
    expect(result.duplicates[0]).toContain('no message id');
  });

  it('fails a message that arrived twice, and says the database and the fakes disagree about a skipped one', () => {
    const result = checkDeliveries({
      deliveries: [
        delivery('1', at(3)),
        delivery('1', at(4)),
        delivery('2', at(5), { to: 'other@example.com' }),
      ],
      messages: [message(1, 'sent', at(2)), message(2, 'skipped', null, 2)],
      withdrawals: [],
      contacts: new Map(),
    });
    expect(result.duplicates).toEqual(['message 1 (email) arrived 2 times']);
    expect(result.mismatches).toEqual([
      'message 2 is skipped in the database but a fake received it',
      'message 2 reached the email fake before any claim of it',
    ]);
  });

  it('counts rejected attempts as not delivered, and misses nothing sent', () => {
    const result = checkDeliveries({
      deliveries: [
        delivery('1', at(3), { handling: 'rejected', delivered: false, providerId: null }),
        delivery('1', at(4)),
      ],
      messages: [message(1, 'sent', at(3)), message(3, 'sent', at(3))],
      withdrawals: [],
      contacts: new Map(),
    });
    expect(result.duplicates).toEqual([]);
    expect(result.mismatches).toEqual(['message 3 is sent in the database but no fake received it']);
  });
});
