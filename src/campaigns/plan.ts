import { type RawBuilder, sql } from 'kysely';
import { consentBlockReasonSql } from '../consent/consent.sql.js';
import type { Db } from '../db/database.js';
import { mayHaveReached } from '../delivery/may-have-reached.js';
import type { Channel } from '../domain/vocabulary.js';
import { compileRule } from '../segmentation/compile.js';
import type { RuleClock } from '../segmentation/rules.js';
import type { EffectivePolicy } from './campaign.js';
import type { StoredCampaign } from './campaigns.repository.js';
import type { CandidateOffer } from './offers-for-run.js';

/**
 * Planning one keyset chunk of a campaign run: which people of the chunk get which message on which
 * channel with which offer, and who is left out and why. One set-based query per chunk does the
 * selection (audience ∩ consent ∩ markers ∩ contact ∩ suppression, cap counts, eligible offers);
 * assignment (channel strategy, offer caps, frequency cap) is a pure function of its rows. Preview
 * and run both plan through here, so preview counts are what the run creates.
 */

export const EXCLUSION_REASONS = [
  'no_consent',
  'restricted',
  'objected',
  'erased',
  'no_contact',
  'suppressed',
  'frequency_cap',
  'no_eligible_offer',
] as const;
export type ExclusionReason = (typeof EXCLUSION_REASONS)[number];

export interface PlannedMessage {
  readonly recipientId: number;
  readonly channel: Channel;
  readonly offerId: number;
  readonly match: MatchExplanation;
  readonly notBefore: Date | null;
}

/** Why this offer (N9): recorded on the message, shown by explain. */
export interface MatchExplanation {
  readonly offer_id: number;
  readonly offer_key: string;
  readonly priority: number;
  readonly mode: 'fixed' | 'best_match';
  readonly rule: 'eligibility' | 'none';
  readonly personalised: boolean;
  /** The person objected to profiling: only non-personalised offers, and rules that do not need profiling. */
  readonly non_personalised_only: boolean;
}

export interface PlannedExclusion {
  readonly recipientId: number;
  readonly channel: Channel;
  readonly reason: ExclusionReason;
}

export interface Funnel {
  considered: number;
  in_audience: number;
  selected: number;
  messages: Record<string, number>;
  excluded: Record<string, Record<string, number>>;
}

export function emptyFunnel(): Funnel {
  return { considered: 0, in_audience: 0, selected: 0, messages: {}, excluded: {} };
}

export function addFunnel(a: Funnel, b: Funnel): Funnel {
  const out: Funnel = {
    considered: a.considered + b.considered,
    in_audience: a.in_audience + b.in_audience,
    selected: a.selected + b.selected,
    messages: { ...a.messages },
    excluded: {},
  };
  for (const [ch, n] of Object.entries(b.messages)) out.messages[ch] = (out.messages[ch] ?? 0) + n;
  for (const src of [a.excluded, b.excluded]) {
    for (const [reason, byChannel] of Object.entries(src)) {
      const target = out.excluded[reason] ?? {};
      for (const [ch, n] of Object.entries(byChannel)) target[ch] = (target[ch] ?? 0) + n;
      out.excluded[reason] = target;
    }
  }
  return out;
}

export interface PlanContext {
  readonly campaign: StoredCampaign;
  readonly policy: EffectivePolicy;
  readonly clock: RuleClock;
  readonly now: Date;
  readonly offers: readonly CandidateOffer[];
}

export interface ChunkPlan {
  readonly messages: PlannedMessage[];
  readonly exclusions: PlannedExclusion[];
  readonly funnel: Funnel;
}

/** One person of a chunk as the selection query returns them. */
export interface PlanRow {
  id: number;
  profiling_objected: boolean;
  quiet_until: Date | null;
  purpose_count: number;
  total_count: number;
  offers: number[];
  [block: `block_${string}`]: ExclusionReason | null;
}

/** `range`: the chunk's (lo, hi], so that the device lookup reads the chunk's devices only. */
function contactBlock(
  channel: Channel,
  alias: string,
  range: { lo: number; hi: number },
): RawBuilder<ExclusionReason | null> {
  const r = (c: string) => sql.ref(`${alias}.${c}`);
  if (channel === 'push') {
    return sql`CASE WHEN NOT EXISTS (SELECT 1 FROM devices d WHERE d.recipient_id = ${r('id')} AND d.invalidated_at IS NULL
      AND d.recipient_id > ${range.lo}::bigint AND d.recipient_id <= ${range.hi}::bigint) THEN 'no_contact' END`;
  }
  const contact = channel === 'email' ? r('email') : r('phone');
  const hash = channel === 'email' ? r('email_hash') : r('phone_hash');
  return sql`CASE
    WHEN ${contact} IS NULL THEN 'no_contact'
    WHEN EXISTS (SELECT 1 FROM suppressions s WHERE s.channel = ${channel}::text AND s.address_hash = ${hash}) THEN 'suppressed'
  END`;
}

function eligibleOffersSql(ctx: PlanContext, alias: string): RawBuilder<number[]> {
  if (ctx.offers.length === 0) return sql<number[]>`ARRAY[]::bigint[]`;
  const r = (c: string) => sql.ref(`${alias}.${c}`);
  const parts = ctx.offers.map((o) => {
    const conditions: RawBuilder<unknown>[] = [];
    if (o.eligibility !== null)
      conditions.push(sql`(${compileRule(o.eligibility, alias, ctx.clock)}) IS TRUE`);
    if (o.personalised) conditions.push(sql`${r('profiling_objected_at')} IS NULL`);
    if (o.resendAfterDays > 0) {
      conditions.push(sql`NOT EXISTS (
        SELECT 1 FROM messages m WHERE m.offer_id = ${o.id}::bigint AND m.recipient_id = ${r('id')}
          AND ${mayHaveReached('m')} AND m.claimed_at > ${ctx.now}::timestamptz - make_interval(days => ${o.resendAfterDays}::int))`);
    }
    const when = conditions.length === 0 ? sql`true` : sql.join(conditions, sql` AND `);
    return sql`CASE WHEN ${when} THEN ${o.id}::bigint END`;
  });
  return sql<number[]>`array_remove(ARRAY[${sql.join(parts)}]::bigint[], NULL)`;
}

/** The chunk after `after`: its last recipient id and how many recipients it spans. */
export async function nextChunk(
  db: Db,
  after: number,
  size: number,
): Promise<{ hi: number; count: number } | undefined> {
  const row = await db
    .selectFrom((eb) =>
      eb.selectFrom('recipients').select('id').where('id', '>', after).orderBy('id').limit(size).as('chunk'),
    )
    .select([sql<number | null>`max(chunk.id)`.as('hi'), sql<number>`count(*)::int`.as('count')])
    .executeTakeFirstOrThrow();
  return row.hi === null ? undefined : { hi: Number(row.hi), count: row.count };
}

/** Selects and assigns one chunk (lo, hi]. Reads only; the runner writes what it returns. */
export async function planChunk(
  db: Db,
  ctx: PlanContext,
  lo: number,
  hi: number,
  considered: number,
): Promise<ChunkPlan> {
  const { campaign, policy, now } = ctx;
  const quiet = policy.quietHours;
  // Quiet hours depend only on the time zone: computed once per zone of the chunk, not per person
  // (the SQL function is not inlinable, and a call per row was a third of the query).
  const zones = sql<{ time_zone: string; quiet_until: Date | null }>`(
    SELECT z.time_zone, consentcast_quiet_until(z.time_zone, ${quiet.startMinute}::int, ${quiet.endMinute}::int, ${now}::timestamptz) AS quiet_until
    FROM (SELECT DISTINCT time_zone FROM recipients WHERE id > ${lo}::bigint AND id <= ${hi}::bigint) z)`;
  // The chunk's messages sent or being sent in the cap windows: one grouped range scan of the cap index
  // instead of two correlated counts per person.
  const capSince = (hours: number) => sql`${now}::timestamptz - make_interval(hours => ${hours}::int)`;
  const counts = sql<{ recipient_id: number; purpose_count: number; total_count: number }>`(
    SELECT m.recipient_id,
           count(*) FILTER (WHERE m.purpose = ${campaign.purpose}::text AND m.claimed_at > ${capSince(policy.cap.windowHours)})::int AS purpose_count,
           count(*) FILTER (WHERE m.claimed_at > ${capSince(policy.ceiling.windowHours)})::int AS total_count
    FROM messages m
    WHERE ${mayHaveReached('m')} AND m.recipient_id > ${lo}::bigint AND m.recipient_id <= ${hi}::bigint
      AND m.claimed_at > ${capSince(Math.max(policy.cap.windowHours, policy.ceiling.windowHours))}
    GROUP BY m.recipient_id)`;
  let query = db
    .selectFrom('recipients as r')
    .innerJoin(zones.as('q'), (j) => j.onRef('q.time_zone', '=', 'r.time_zone'))
    .leftJoin(counts.as('k'), (j) => j.onRef('k.recipient_id', '=', 'r.id'))
    .select([
      'r.id',
      sql<boolean>`r.profiling_objected_at IS NOT NULL`.as('profiling_objected'),
      'q.quiet_until',
      sql<number>`COALESCE(k.purpose_count, 0)`.as('purpose_count'),
      sql<number>`COALESCE(k.total_count, 0)`.as('total_count'),
      eligibleOffersSql(ctx, 'r').as('offers'),
    ])
    .where('r.id', '>', lo)
    .where('r.id', '<=', hi)
    .where(sql<boolean>`(${compileRule(campaign.audience, 'r', ctx.clock)}) IS TRUE`)
    .orderBy('r.id');
  // The range repeated on the joined tables (implied by `= r.id`, but the planner does not carry it
  // over): without it every chunk hash-joins the whole consents and devices tables, O(N) per chunk.
  for (const channel of campaign.channels) {
    const c = `c_${channel}`;
    query = query
      .leftJoin(`consents as ${c}` as 'consents as c', (j) =>
        j
          .onRef(`${c}.recipient_id` as 'c.recipient_id', '=', 'r.id')
          .on(`${c}.purpose` as 'c.purpose', '=', campaign.purpose)
          .on(`${c}.channel` as 'c.channel', '=', channel)
          .on(`${c}.recipient_id` as 'c.recipient_id', '>', lo)
          .on(`${c}.recipient_id` as 'c.recipient_id', '<=', hi),
      )
      .select(
        sql<ExclusionReason | null>`COALESCE(${consentBlockReasonSql('r', c)}, ${contactBlock(channel, 'r', { lo, hi })})`.as(
          `block_${channel}`,
        ),
      );
  }
  const rows = (await query.execute()) as unknown as PlanRow[];
  return assign(ctx, rows, considered);
}

/** The pure half of planning: channel strategy, offer choice under offer caps, and the frequency cap. */
export function assign(ctx: PlanContext, rows: readonly PlanRow[], considered: number): ChunkPlan {
  const { campaign, policy } = ctx;
  const offerById = new Map(ctx.offers.map((o) => [o.id, o]));
  const messages: PlannedMessage[] = [];
  const exclusions: PlannedExclusion[] = [];
  // One explanation object per offer and profiling flag, shared by the people it explains: the writer
  // serialises each distinct one once.
  const matches = new Map<string, MatchExplanation>();
  const funnel = emptyFunnel();
  funnel.considered = considered;
  funnel.in_audience = rows.length;
  const exclude = (recipientId: number, channel: Channel, reason: ExclusionReason) => {
    exclusions.push({ recipientId, channel, reason });
    const byChannel = funnel.excluded[reason] ?? {};
    byChannel[channel] = (byChannel[channel] ?? 0) + 1;
    funnel.excluded[reason] = byChannel;
  };

  for (const row of rows) {
    const passing: Channel[] = [];
    for (const channel of campaign.channels) {
      const block = row[`block_${channel}`] ?? null;
      if (block === null) passing.push(channel);
      else exclude(row.id, channel, block);
    }
    if (passing.length === 0) continue;

    // The best eligible offer with content for at least one reachable channel; channels it has no
    // content for are left out as having no eligible offer.
    const offer = row.offers
      .map((id) => offerById.get(Number(id)))
      .find((o) => o !== undefined && (o.remaining ?? 1) > 0 && passing.some((c) => o.channels.includes(c)));
    if (!offer) {
      for (const channel of passing) exclude(row.id, channel, 'no_eligible_offer');
      continue;
    }
    const fillable = passing.filter((c) => offer.channels.includes(c));
    for (const channel of passing)
      if (!offer.channels.includes(channel)) exclude(row.id, channel, 'no_eligible_offer');
    const chosen = campaign.channelStrategy === 'first' ? fillable.slice(0, 1) : fillable;

    const room = Math.max(
      0,
      Math.min(policy.cap.max - row.purpose_count, policy.ceiling.max - row.total_count),
    );
    const allowed = chosen.slice(0, room);
    for (const channel of chosen.slice(room)) exclude(row.id, channel, 'frequency_cap');
    if (allowed.length === 0) continue;

    if (offer.remaining !== undefined) offerById.set(offer.id, { ...offer, remaining: offer.remaining - 1 });
    funnel.selected += 1;
    const matchKey = `${offer.id}:${row.profiling_objected}`;
    let match = matches.get(matchKey);
    if (match === undefined) {
      match = {
        offer_id: offer.id,
        offer_key: offer.key,
        priority: offer.priority,
        mode: campaign.offerMode,
        rule: offer.eligibility === null ? 'none' : 'eligibility',
        personalised: offer.personalised,
        non_personalised_only: row.profiling_objected,
      };
      matches.set(matchKey, match);
    }
    for (const channel of allowed) {
      messages.push({ recipientId: row.id, channel, offerId: offer.id, match, notBefore: row.quiet_until });
      funnel.messages[channel] = (funnel.messages[channel] ?? 0) + 1;
    }
  }
  return { messages, exclusions, funnel };
}

/** Offer caps used up by a chunk carry over to the next chunk of the same run or preview. */
export function remainingAfter(offers: readonly CandidateOffer[], plan: ChunkPlan): CandidateOffer[] {
  const used = new Map<number, Set<number>>();
  for (const m of plan.messages) {
    const people = used.get(m.offerId) ?? new Set<number>();
    people.add(m.recipientId);
    used.set(m.offerId, people);
  }
  return offers.map((o) =>
    o.remaining === undefined
      ? o
      : { ...o, remaining: Math.max(0, o.remaining - (used.get(o.id)?.size ?? 0)) },
  );
}
