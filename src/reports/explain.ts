import { effectivePolicy } from '../campaigns/campaign.js';
import { loadCampaign, type StoredCampaign } from '../campaigns/campaigns.repository.js';
import { candidateOffers } from '../campaigns/offers-for-run.js';
import { type MatchExplanation, planChunk } from '../campaigns/plan.js';
import type { Config } from '../config/config.js';
import type { Db } from '../db/database.js';
import type { JsonValue } from '../db/schema.js';
import type { Channel } from '../domain/vocabulary.js';
import { findSubjectId } from '../dsr/subject.js';
import { NotFoundError } from '../errors/not-found-error.js';
import { clockAt } from '../segmentation/rules.js';
import { explainReason, type PersonFacts, personFacts } from './explain-reasons.js';
import type { ExclusionReason } from './report.js';

/**
 * Explain, for one person and one campaign (N8, N9): per run, whether they were selected on each
 * channel, and if not why (the reason the run recorded, with since-when from the records that decide
 * it); if so, which offer and why, and what happened to the message. A campaign that has not run yet
 * is evaluated now through the same planning as preview and the runner (plan.ts), for this one person.
 */

export type ChannelOutcome =
  /** A message was created for this channel; `message` says what became of it. */
  | 'selected'
  /** Left out by the run, for `reason`. */
  | 'excluded'
  /** In the audience on another channel; channel strategy `first` used that one. */
  | 'not_chosen'
  /** Not matched by the audience rule (people outside it are counted, not listed). */
  | 'not_in_audience'
  /** The person was not yet registered when the run looked. */
  | 'not_registered'
  /** The run has not reached this person yet. */
  | 'not_reached'
  /** The person was erased: their messages and exclusions went with them (N14). */
  | 'records_erased';

export interface MessageView {
  readonly id: number;
  readonly status: string;
  readonly skip_reason: string | null;
  readonly resolution: string | null;
  readonly resolved_by: string | null;
  readonly offer_id: number;
  readonly attempts: number;
  readonly error_code: string | null;
  readonly not_before: Date | null;
  readonly created_at: Date;
  readonly claimed_at: Date | null;
  readonly sent_at: Date | null;
  readonly finished_at: Date | null;
  readonly events: { type: string; occurred_at: Date }[];
}

export interface ChannelExplanation {
  readonly channel: Channel;
  readonly outcome: ChannelOutcome;
  readonly reason: ExclusionReason | null;
  readonly since: Date | null;
  /** One sentence for the person asking. */
  readonly text: string;
  readonly detail: Record<string, JsonValue>;
  /** Why this offer (recorded on the message, N9); null unless selected. */
  readonly match: MatchExplanation | null;
  readonly message: MessageView | null;
}

export interface RunExplanation {
  readonly run_id: number | null;
  readonly trigger: string;
  readonly status: string;
  /** When the run (or this evaluation) looked. */
  readonly evaluated_at: Date;
  readonly selected: boolean;
  readonly channels: ChannelExplanation[];
}

export interface Explanation {
  readonly campaign: { id: number; name: string; purpose: string; status: string; audience: JsonValue };
  readonly person: { recipient_id: number; erased: boolean; profiling_objected_at: Date | null };
  readonly runs: RunExplanation[];
  /** The campaign evaluated now for this person (preview's planning); null when it has runs, unless asked. */
  readonly now: RunExplanation | null;
}

function matchOf(value: JsonValue): MatchExplanation | null {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && 'offer_id' in value
    ? (value as unknown as MatchExplanation)
    : null;
}

function selectedText(
  match: MatchExplanation | null,
  person: PersonFacts,
  message: MessageView | null,
): string {
  const parts: string[] = [];
  parts.push(match ? `selected with offer ${match.offer_key}` : 'selected');
  if (match) {
    parts.push(
      match.rule === 'eligibility'
        ? `its eligibility rule matched (priority ${match.priority})`
        : `it has no eligibility rule (priority ${match.priority})`,
    );
    if (match.non_personalised_only) {
      // N9: consented sending continues, with non-personalised offers only.
      parts.push(
        `the person objected to profiling${person.profilingObjectedAt ? ` on ${person.profilingObjectedAt.toISOString()}` : ''}, so only non-personalised offers were considered`,
      );
    }
  }
  if (message) {
    if (message.not_before)
      parts.push(`held for quiet hours (N15) until ${message.not_before.toISOString()}`);
    if (message.status === 'skipped') parts.push(`not sent: ${message.skip_reason} when it was due`);
    else if (message.status === 'indeterminate' && message.resolution)
      parts.push(`the provider's answer was lost; an operator resolved it as ${message.resolution}`);
    else parts.push(`message ${message.status}`);
  }
  return parts.join('; ');
}

async function messagesOf(db: Db, recipientId: number, runIds: readonly number[]) {
  if (runIds.length === 0) return [];
  const rows = await db
    .selectFrom('messages')
    .select([
      'id',
      'run_id',
      'channel',
      'status',
      'skip_reason',
      'resolution',
      'resolved_by',
      'offer_id',
      'attempts',
      'error_code',
      'not_before',
      'created_at',
      'claimed_at',
      'sent_at',
      'finished_at',
      'match',
    ])
    .where('recipient_id', '=', recipientId)
    .where('run_id', 'in', runIds)
    .execute();
  const events =
    rows.length === 0
      ? []
      : await db
          .selectFrom('message_events')
          .select(['message_id', 'type', 'occurred_at'])
          .where(
            'message_id',
            'in',
            rows.map((r) => r.id),
          )
          .orderBy('occurred_at')
          .orderBy('id')
          .execute();
  return rows.map(({ match, run_id, channel, ...m }) => ({
    runId: run_id,
    channel,
    match: matchOf(match),
    view: {
      ...m,
      events: events
        .filter((e) => e.message_id === m.id)
        .map((e) => ({ type: e.type, occurred_at: e.occurred_at })),
    } satisfies MessageView,
  }));
}

async function excluded(
  db: Db,
  campaign: StoredCampaign,
  config: Config,
  person: PersonFacts,
  channel: Channel,
  reason: ExclusionReason,
  at: Date,
): Promise<ChannelExplanation> {
  const cap = effectivePolicy(campaign, config.policy).cap;
  const why = await explainReason(db, { person, purpose: campaign.purpose, channel, reason, at, cap });
  return {
    channel,
    outcome: 'excluded',
    reason,
    since: why.since,
    text: why.text,
    detail: why.detail,
    match: null,
    message: null,
  };
}

const plain = (channel: Channel, outcome: ChannelOutcome, text: string): ChannelExplanation => ({
  channel,
  outcome,
  reason: null,
  since: null,
  text,
  detail: {},
  match: null,
  message: null,
});

/** The campaign evaluated now for one person: the run's own planning over a chunk of just them. */
async function evaluateNow(db: Db, campaign: StoredCampaign, config: Config, person: PersonFacts) {
  const now = new Date();
  const offers = await candidateOffers(db, campaign, now);
  const policy = effectivePolicy(campaign, config.policy);
  const plan = await planChunk(
    db,
    { campaign, policy, clock: clockAt(now), now, offers },
    person.id - 1,
    person.id,
    1,
  );
  const channels: ChannelExplanation[] = [];
  for (const channel of campaign.channels) {
    const m = plan.messages.find((x) => x.channel === channel);
    const x = plan.exclusions.find((e) => e.channel === channel);
    if (m) {
      channels.push({
        channel,
        outcome: 'selected',
        reason: null,
        since: null,
        text: `${selectedText(m.match, person, null)}${m.notBefore ? `; would be held for quiet hours (N15) until ${m.notBefore.toISOString()}` : ''}`,
        detail: {},
        match: m.match,
        message: null,
      });
    } else if (x) channels.push(await excluded(db, campaign, config, person, channel, x.reason, now));
    else if (plan.funnel.in_audience === 0)
      channels.push(
        plain(channel, 'not_in_audience', "the campaign's audience rule does not match the person"),
      );
    else
      channels.push(plain(channel, 'not_chosen', 'another channel would be used (channel strategy first)'));
  }
  return {
    run_id: null,
    trigger: 'evaluation',
    status: 'evaluated_now',
    evaluated_at: now,
    selected: plan.messages.length > 0,
    channels,
  } satisfies RunExplanation;
}

export async function explainPerson(
  db: Db,
  config: Config,
  input: { campaignId: number; clientNumber: string; runId?: number; evaluateNow?: boolean },
): Promise<Explanation> {
  const campaign = await loadCampaign(db, input.campaignId);
  const subject = await findSubjectId(db, config.pseudonymSecret, input.clientNumber);
  const person = subject && (await personFacts(db, subject.recipientId));
  if (!subject || !person) throw new NotFoundError('recipient');

  let runsQuery = db
    .selectFrom('campaign_runs')
    .select(['id', 'trigger', 'status', 'created_at', 'started_at', 'checkpoint_recipient_id'])
    .where('campaign_id', '=', campaign.id)
    .orderBy('id');
  if (input.runId !== undefined) runsQuery = runsQuery.where('id', '=', input.runId);
  const runs = await runsQuery.execute();
  if (input.runId !== undefined && runs.length === 0) throw new NotFoundError('run');

  const runIds = runs.map((r) => r.id);
  const messages = await messagesOf(db, person.id, runIds);
  const exclusions =
    runIds.length === 0
      ? []
      : await db
          .selectFrom('run_exclusions')
          .select(['run_id', 'channel', 'reason'])
          .where('recipient_id', '=', person.id)
          .where('run_id', 'in', runIds)
          .execute();

  const explained: RunExplanation[] = [];
  for (const run of runs) {
    const at = run.started_at ?? run.created_at;
    const channels: ChannelExplanation[] = [];
    const ofRun = messages.filter((m) => m.runId === run.id);
    for (const channel of campaign.channels) {
      const m = ofRun.find((x) => x.channel === channel);
      const x = exclusions.find((e) => e.run_id === run.id && e.channel === channel);
      if (m) {
        channels.push({
          channel,
          outcome: 'selected',
          reason: null,
          since: null,
          text: selectedText(m.match, person, m.view),
          detail: {},
          match: m.match,
          message: m.view,
        });
      } else if (x) channels.push(await excluded(db, campaign, config, person, channel, x.reason, at));
      else if (person.erasedAt !== null)
        channels.push(
          plain(channel, 'records_erased', "the person was erased; the run's records of them went with it"),
        );
      else if (run.checkpoint_recipient_id < person.id) {
        const open = run.status === 'pending' || run.status === 'running';
        const text = open
          ? 'the run has not reached the person yet'
          : `the run ended (${run.status}) before reaching the person`;
        channels.push(plain(channel, 'not_reached', text));
      } else if (person.createdAt > at)
        channels.push(plain(channel, 'not_registered', 'the person was registered after the run looked'));
      else if (ofRun.length > 0)
        channels.push(plain(channel, 'not_chosen', 'another channel was used (channel strategy first)'));
      else
        channels.push(
          plain(channel, 'not_in_audience', "the campaign's audience rule did not match the person"),
        );
    }
    explained.push({
      run_id: run.id,
      trigger: run.trigger,
      status: run.status,
      evaluated_at: at,
      selected: ofRun.length > 0,
      channels,
    });
  }

  const wantNow = input.evaluateNow ?? (runs.length === 0 && input.runId === undefined);
  return {
    campaign: {
      id: campaign.id,
      name: campaign.name,
      purpose: campaign.purpose,
      status: campaign.status,
      audience: campaign.audience as unknown as JsonValue,
    },
    person: {
      recipient_id: person.id,
      erased: person.erasedAt !== null,
      profiling_objected_at: person.profilingObjectedAt,
    },
    runs: explained,
    now: wantNow && person.erasedAt === null ? await evaluateNow(db, campaign, config, person) : null,
  };
}
