import { describe, expect, it } from 'vitest';
import type { StoredCampaign } from '../../../src/campaigns/campaigns.repository.js';
import type { CandidateOffer } from '../../../src/campaigns/offers-for-run.js';
import { assign, type PlanContext, type PlanRow } from '../../../src/campaigns/plan.js';
import { clockAt } from '../../../src/segmentation/rules.js';

const now = new Date('2026-03-02T10:00:00Z');

const campaign: StoredCampaign = {
  id: 1,
  status: 'running',
  version: 1,
  name: 'unit',
  purpose: 'service_offers',
  audience: { all: [] },
  offerMode: 'best_match',
  offerIds: [],
  channels: ['email', 'sms', 'push'],
  channelStrategy: 'all',
};

function offer(id: number, personalised: boolean, remaining?: number): CandidateOffer {
  return {
    id,
    key: `o${id}`,
    priority: 10 - id,
    personalised,
    eligibility: null,
    resendAfterDays: 0,
    remaining,
    channels: ['email', 'sms', 'push'],
  };
}

function context(offers: CandidateOffer[], c: StoredCampaign = campaign): PlanContext {
  return {
    campaign: c,
    policy: {
      quietHours: { startMinute: 0, endMinute: 0 },
      cap: { max: 2, windowHours: 168 },
      ceiling: { max: 3, windowHours: 168 },
    },
    clock: clockAt(now),
    now,
    offers,
  };
}

function person(id: number, over: Partial<PlanRow> = {}): PlanRow {
  return {
    id,
    profiling_objected: false,
    quiet_until: null,
    purpose_count: 0,
    total_count: 0,
    offers: [1, 2],
    block_email: null,
    block_sms: null,
    block_push: null,
    ...over,
  };
}

describe('assigning a chunk (the pure half of planning)', () => {
  it('shares one explanation per offer and profiling flag across people, so the writer sends each once (N9)', () => {
    const plan = assign(
      context([offer(1, false), offer(2, false)]),
      [person(1), person(2), person(3, { profiling_objected: true }), person(4, { offers: [2] })],
      4,
    );
    const byPerson = new Map(plan.messages.map((m) => [m.recipientId, m.match]));
    expect(byPerson.get(1)).toBe(byPerson.get(2));
    expect(byPerson.get(3)).not.toBe(byPerson.get(1));
    expect(byPerson.get(3)).toMatchObject({ offer_id: 1, non_personalised_only: true });
    expect(byPerson.get(4)).toMatchObject({ offer_id: 2, non_personalised_only: false });
    expect(new Set(plan.messages.map((m) => m.match)).size).toBe(3);
  });

  it('leaves out channels beyond the frequency cap and counts every exclusion in the funnel (N15)', () => {
    const plan = assign(
      context([offer(1, false)]),
      [
        person(1, { purpose_count: 1 }),
        person(2, { total_count: 3 }),
        person(3, { block_sms: 'no_consent', block_push: 'no_contact' }),
      ],
      3,
    );
    expect(plan.messages.map((m) => [m.recipientId, m.channel])).toEqual([
      [1, 'email'],
      [3, 'email'],
    ]);
    expect(plan.exclusions).toEqual([
      { recipientId: 1, channel: 'sms', reason: 'frequency_cap' },
      { recipientId: 1, channel: 'push', reason: 'frequency_cap' },
      { recipientId: 2, channel: 'email', reason: 'frequency_cap' },
      { recipientId: 2, channel: 'sms', reason: 'frequency_cap' },
      { recipientId: 2, channel: 'push', reason: 'frequency_cap' },
      { recipientId: 3, channel: 'sms', reason: 'no_consent' },
      { recipientId: 3, channel: 'push', reason: 'no_contact' },
    ]);
    expect(plan.funnel).toEqual({
      considered: 3,
      in_audience: 3,
      selected: 2,
      messages: { email: 2 },
      excluded: {
        frequency_cap: { sms: 2, push: 2, email: 1 },
        no_consent: { sms: 1 },
        no_contact: { push: 1 },
      },
    });
  });

  it('moves on to the next offer once an offer cap is used up, and sends on the first channel only with `first`', () => {
    const plan = assign(
      context([offer(1, false, 1), offer(2, false)], { ...campaign, channelStrategy: 'first' }),
      [person(1), person(2, { block_email: 'suppressed' })],
      2,
    );
    expect(plan.messages.map((m) => [m.recipientId, m.channel, m.offerId])).toEqual([
      [1, 'email', 1],
      [2, 'sms', 2],
    ]);
    expect(plan.exclusions).toEqual([{ recipientId: 2, channel: 'email', reason: 'suppressed' }]);
  });
});
