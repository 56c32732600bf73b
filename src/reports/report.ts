import { type RawBuilder, sql } from 'kysely';
import type { Db } from '../db/database.js';
import type { MessagesTable, RunExclusionsTable } from '../db/schema.js';
import { CHANNELS } from '../domain/vocabulary.js';
import { NotFoundError } from '../errors/not-found-error.js';
import { type OpenStop, openStops } from '../ops/stops.repository.js';

/**
 * Campaign reports (N8): what a run, or every run of a campaign, did — per channel and per offer.
 * Counted set-based in SQL from the outbox (`messages`), who was left out (`run_exclusions`) and what
 * happened after sending (`message_events`); only the audience size before exclusions comes from the
 * run's funnel, because people outside the audience rule are never listed. Aggregates only: no row of a
 * report names or identifies a person.
 */

export type SkipReason = NonNullable<MessagesTable['skip_reason']>;
export type ExclusionReason = RunExclusionsTable['reason'];

// Written as records so that a reason added to a CHECK (and so to schema.ts) but not here, or one
// here that the CHECK does not know, fails the type check. Key order is the CSV column order.
const SKIP_REASON_KEYS: Record<SkipReason, true> = {
  consent_withdrawn: true,
  restricted: true,
  objected: true,
  erased: true,
  no_contact: true,
  suppressed: true,
  frequency_cap: true,
  campaign_cancelled: true,
  offer_unavailable: true,
  expired: true,
};
const EXCLUSION_REASON_KEYS: Record<ExclusionReason, true> = {
  no_consent: true,
  restricted: true,
  objected: true,
  erased: true,
  no_contact: true,
  suppressed: true,
  frequency_cap: true,
  no_eligible_offer: true,
  channel_strategy: true,
};
export const SKIP_REASONS = Object.keys(SKIP_REASON_KEYS) as readonly SkipReason[];
export const EXCLUSION_REASONS = Object.keys(EXCLUSION_REASON_KEYS) as readonly ExclusionReason[];

/** What happened to the messages (CSV: before the skip reasons), then after sending (after the exclusions). */
export const DELIVERY_COUNTERS = [
  'selected',
  'messages',
  'queued',
  'sending',
  'sent',
  'delivered',
  'undelivered',
  'failed',
  'indeterminate',
  'resolved_sent',
  'resolved_not_sent',
  'skipped',
] as const;
export const ENGAGEMENT_COUNTERS = [
  'opened',
  'clicked',
  'unsubscribed',
  'bounced',
  'complained',
  'replied',
] as const;
export const MESSAGE_COUNTERS = [...DELIVERY_COUNTERS, ...ENGAGEMENT_COUNTERS] as const;
export type MessageCounter = (typeof MESSAGE_COUNTERS)[number];

export type Breakdown = 'total' | 'channel' | 'offer';

export interface ReportRow extends Record<MessageCounter, number> {
  readonly breakdown: Breakdown;
  /** `all` on the total row. */
  readonly channel: 'all' | 'email' | 'sms' | 'push';
  /** null on total and channel rows. */
  readonly offer_id: number | null;
  readonly offer_key: string | null;
  readonly skipped_by_reason: Record<SkipReason, number>;
  /** Exclusions are per person and channel, before any offer: null on offer rows. */
  readonly excluded: number | null;
  readonly excluded_by_reason: Record<ExclusionReason, number> | null;
}

export interface ReportRun {
  readonly id: number;
  readonly trigger: string;
  readonly status: string;
  readonly created_at: Date;
  readonly started_at: Date | null;
  readonly finished_at: Date | null;
}

export interface Report {
  readonly scope: 'run' | 'campaign';
  readonly campaign: { readonly id: number; readonly name: string; readonly purpose: string };
  readonly runs: ReportRun[];
  readonly generated_at: Date;
  /** From the runs' funnels: people scanned, and of them in the audience rule (before exclusions). */
  readonly audience: { readonly considered: number; readonly in_audience: number };
  readonly rows: ReportRow[];
  /** What holds the messages back now: open emergency stops, and messages on an expired lease. */
  readonly holds: DeliveryHolds;
}

export interface DeliveryHolds {
  readonly stops: OpenStop[];
  readonly expired_leases: { readonly messages: number; readonly since: Date | null };
}

export async function deliveryHolds(db: Db, scope: Scope): Promise<DeliveryHolds> {
  const stops = await openStops(db);
  const expired = await sql<{ messages: number; since: Date | null }>`
    SELECT count(*)::int AS messages, min(m.lease_expires_at) AS since FROM messages m
    WHERE ${messagesOf(scope)} AND m.status = 'sending' AND m.lease_expires_at < now()
  `.execute(db);
  return { stops, expired_leases: expired.rows[0] ?? { messages: 0, since: null } };
}

export type Scope =
  | { readonly kind: 'run'; readonly runId: number }
  | { readonly kind: 'campaign'; readonly campaignId: number };

const zeroSkips = (): Record<SkipReason, number> =>
  Object.fromEntries(SKIP_REASONS.map((r) => [r, 0])) as Record<SkipReason, number>;
const zeroExclusions = (): Record<ExclusionReason, number> =>
  Object.fromEntries(EXCLUSION_REASONS.map((r) => [r, 0])) as Record<ExclusionReason, number>;

interface MessageAggregate {
  channel: string | null;
  offer_id: number | null;
  offer_key: string | null;
  grouped_channel: number;
  grouped_offer: number;
  counters: Record<MessageCounter, number>;
  skips: Record<SkipReason, number>;
}

function messagesOf(scope: Scope): RawBuilder<boolean> {
  return scope.kind === 'run'
    ? sql`m.run_id = ${scope.runId}::bigint`
    : sql`m.campaign_id = ${scope.campaignId}::bigint`;
}

/** Message counters per (), (channel) and (channel, offer), in one pass over the scope's messages. */
async function aggregateMessages(db: Db, scope: Scope): Promise<MessageAggregate[]> {
  const skipColumns = SKIP_REASONS.map(
    (r) => sql`count(*) FILTER (WHERE m.skip_reason = ${r}::text)::int AS ${sql.ref(`skip_${r}`)}`,
  );
  const { rows } = await sql<Record<string, unknown>>`
    WITH ev AS (
      SELECT e.message_id,
             bool_or(e.type = 'delivered') AS delivered,
             bool_or(e.type = 'undelivered') AS undelivered,
             bool_or(e.type = 'opened') AS opened,
             bool_or(e.type = 'clicked') AS clicked,
             bool_or(e.type = 'unsubscribed') AS unsubscribed,
             bool_or(e.type = 'bounced') AS bounced,
             bool_or(e.type = 'complained') AS complained,
             bool_or(e.type = 'replied') AS replied
      FROM message_events e JOIN messages m ON m.id = e.message_id
      WHERE ${messagesOf(scope)}
        AND e.type IN ('delivered', 'undelivered', 'opened', 'clicked', 'unsubscribed', 'bounced', 'complained', 'replied')
      GROUP BY e.message_id
    )
    SELECT m.channel, m.offer_id, max(o.key) AS offer_key,
           GROUPING(m.channel)::int AS grouped_channel, GROUPING(m.offer_id)::int AS grouped_offer,
           count(DISTINCT (m.run_id, m.recipient_id))::int AS selected,
           count(*)::int AS messages,
           count(*) FILTER (WHERE m.status = 'queued')::int AS queued,
           count(*) FILTER (WHERE m.status = 'sending')::int AS sending,
           count(*) FILTER (WHERE m.status = 'sent' OR m.resolution = 'sent')::int AS sent,
           count(*) FILTER (WHERE ev.delivered)::int AS delivered,
           count(*) FILTER (WHERE ev.undelivered)::int AS undelivered,
           count(*) FILTER (WHERE m.status = 'failed')::int AS failed,
           count(*) FILTER (WHERE m.status = 'indeterminate' AND m.resolution IS NULL)::int AS indeterminate,
           count(*) FILTER (WHERE m.resolution = 'sent')::int AS resolved_sent,
           count(*) FILTER (WHERE m.resolution = 'not_sent')::int AS resolved_not_sent,
           count(*) FILTER (WHERE m.status = 'skipped')::int AS skipped,
           count(*) FILTER (WHERE ev.opened)::int AS opened,
           count(*) FILTER (WHERE ev.clicked)::int AS clicked,
           count(*) FILTER (WHERE ev.unsubscribed)::int AS unsubscribed,
           count(*) FILTER (WHERE ev.bounced)::int AS bounced,
           count(*) FILTER (WHERE ev.complained)::int AS complained,
           count(*) FILTER (WHERE ev.replied)::int AS replied,
           ${sql.join(skipColumns)}
    FROM messages m
    LEFT JOIN ev ON ev.message_id = m.id
    JOIN offers o ON o.id = m.offer_id
    WHERE ${messagesOf(scope)}
    GROUP BY GROUPING SETS ((), (m.channel), (m.channel, m.offer_id))
  `.execute(db);
  return rows.map((r) => ({
    channel: r.channel as string | null,
    offer_id: r.offer_id === null ? null : Number(r.offer_id),
    offer_key: r.offer_key as string | null,
    grouped_channel: Number(r.grouped_channel),
    grouped_offer: Number(r.grouped_offer),
    counters: Object.fromEntries(MESSAGE_COUNTERS.map((c) => [c, Number(r[c])])) as Record<
      MessageCounter,
      number
    >,
    skips: Object.fromEntries(SKIP_REASONS.map((s) => [s, Number(r[`skip_${s}`])])) as Record<
      SkipReason,
      number
    >,
  }));
}

async function aggregateExclusions(db: Db, scope: Scope) {
  let query = db
    .selectFrom('run_exclusions as x')
    .select(['x.channel', 'x.reason', sql<number>`count(*)::int`.as('n')])
    .groupBy(['x.channel', 'x.reason']);
  query =
    scope.kind === 'run'
      ? query.where('x.run_id', '=', scope.runId)
      : query.where('x.run_id', 'in', (eb) =>
          eb.selectFrom('campaign_runs').select('id').where('campaign_id', '=', scope.campaignId),
        );
  return query.execute();
}

const emptyCounters = (): Record<MessageCounter, number> =>
  Object.fromEntries(MESSAGE_COUNTERS.map((c) => [c, 0])) as Record<MessageCounter, number>;

/** Builds the report of a run or of all runs of a campaign; 404 when it does not exist. */
async function buildReport(db: Db, scope: Scope): Promise<Report> {
  const runsQuery = db
    .selectFrom('campaign_runs')
    .select(['id', 'campaign_id', 'trigger', 'status', 'created_at', 'started_at', 'finished_at', 'funnel'])
    .orderBy('id');
  const runs =
    scope.kind === 'run'
      ? await runsQuery.where('id', '=', scope.runId).execute()
      : await runsQuery.where('campaign_id', '=', scope.campaignId).execute();
  const campaignId = scope.kind === 'run' ? runs[0]?.campaign_id : scope.campaignId;
  if (campaignId === undefined) throw new NotFoundError('run');
  const campaign = await db
    .selectFrom('campaigns')
    .select(['id', 'name', 'purpose', 'channels'])
    .where('id', '=', campaignId)
    .executeTakeFirst();
  if (!campaign) throw new NotFoundError('campaign');

  const [messageRows, exclusionRows] = await Promise.all([
    aggregateMessages(db, scope),
    aggregateExclusions(db, scope),
  ]);

  const audience = { considered: 0, in_audience: 0 };
  for (const run of runs) {
    const f = run.funnel as { considered?: unknown; in_audience?: unknown } | null;
    audience.considered += typeof f?.considered === 'number' ? f.considered : 0;
    audience.in_audience += typeof f?.in_audience === 'number' ? f.in_audience : 0;
  }

  // Every channel of the campaign gets a row, with zeros when nothing happened on it; in CHANNELS order.
  const channels = CHANNELS.filter(
    (c) =>
      campaign.channels.includes(c) ||
      messageRows.some((m) => m.channel === c) ||
      exclusionRows.some((x) => x.channel === c),
  );
  const exclusionsOf = (channel: string | null) => {
    const by = zeroExclusions();
    let total = 0;
    for (const x of exclusionRows) {
      if (channel !== null && x.channel !== channel) continue;
      by[x.reason] += x.n;
      total += x.n;
    }
    return { total, by };
  };
  const total = messageRows.find((m) => m.grouped_channel === 1);
  const totalExclusions = exclusionsOf(null);
  const rows: ReportRow[] = [
    {
      breakdown: 'total',
      channel: 'all',
      offer_id: null,
      offer_key: null,
      ...(total?.counters ?? emptyCounters()),
      skipped_by_reason: total?.skips ?? zeroSkips(),
      excluded: totalExclusions.total,
      excluded_by_reason: totalExclusions.by,
    },
  ];
  for (const channel of channels) {
    const agg = messageRows.find(
      (m) => m.grouped_channel === 0 && m.grouped_offer === 1 && m.channel === channel,
    );
    const ex = exclusionsOf(channel);
    rows.push({
      breakdown: 'channel',
      channel,
      offer_id: null,
      offer_key: null,
      ...(agg?.counters ?? emptyCounters()),
      skipped_by_reason: agg?.skips ?? zeroSkips(),
      excluded: ex.total,
      excluded_by_reason: ex.by,
    });
    const offers = messageRows
      .filter((m) => m.grouped_offer === 0 && m.channel === channel)
      .sort((a, b) => (a.offer_id ?? 0) - (b.offer_id ?? 0));
    for (const o of offers) {
      rows.push({
        breakdown: 'offer',
        channel,
        offer_id: o.offer_id,
        offer_key: o.offer_key,
        ...o.counters,
        skipped_by_reason: o.skips,
        excluded: null,
        excluded_by_reason: null,
      });
    }
  }
  return {
    scope: scope.kind,
    campaign: { id: campaign.id, name: campaign.name, purpose: campaign.purpose },
    runs: runs.map(({ funnel: _f, campaign_id: _c, ...run }) => run),
    generated_at: new Date(),
    audience,
    rows,
    holds: await deliveryHolds(db, scope),
  };
}

export function runReport(db: Db, runId: number): Promise<Report> {
  return buildReport(db, { kind: 'run', runId });
}

export function campaignReport(db: Db, campaignId: number): Promise<Report> {
  return buildReport(db, { kind: 'campaign', campaignId });
}
