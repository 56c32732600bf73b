import type { Config, FrequencyCap, QuietHours } from '../config/config.js';
import { parseFrequencyCap, parseQuietHours } from '../config/windows.js';
import { CHANNELS, type Channel, PURPOSES, type Purpose } from '../domain/vocabulary.js';
import type { FieldProblem } from '../errors/validation-error.js';
import { parseRule, type Rule } from '../segmentation/rules.js';

/** What a marketer defines (issue 4); scheduling and approval come with the lifecycle (issue 6). */
export interface CampaignDefinition {
  readonly name: string;
  /** N3: exactly one purpose; only consents for it count. */
  readonly purpose: Purpose;
  readonly audience: Rule;
  /** `fixed`: only these offers; `best_match`: the best eligible active offer of the purpose. */
  readonly offerMode: 'fixed' | 'best_match';
  readonly offerIds: readonly number[];
  /** In order of preference; `first` uses the first channel the person can be reached on. */
  readonly channels: readonly Channel[];
  readonly channelStrategy: 'all' | 'first';
  /** undefined: the configured default. */
  readonly quietHours?: QuietHours;
  readonly frequencyCap?: FrequencyCap;
  readonly sendRatePerSecond?: number;
}

export interface CampaignInput {
  name?: unknown;
  purpose?: unknown;
  audience?: unknown;
  offer_mode?: unknown;
  offer_ids?: unknown;
  channels?: unknown;
  channel_strategy?: unknown;
  quiet_hours?: unknown;
  frequency_cap?: unknown;
  send_rate_per_second?: unknown;
}

/** Validates a campaign, naming every invalid field; the cap may not be looser than the ceiling (N15). */
export function parseCampaign(
  input: CampaignInput,
  policy: Config['policy'],
): { ok: true; value: CampaignDefinition } | { ok: false; problems: FieldProblem[] } {
  const problems: FieldProblem[] = [];
  const bad = (field: string, message: string) => problems.push({ field, message });
  const { name, purpose, offer_mode, offer_ids, channels, channel_strategy } = input;

  if (typeof name !== 'string' || name.trim().length === 0 || name.length > 200)
    bad('name', 'must be 1-200 characters');
  if (typeof purpose !== 'string' || !(PURPOSES as readonly string[]).includes(purpose)) {
    bad('purpose', `must be one of ${PURPOSES.join(', ')}`);
  }
  const audience = parseRule(input.audience ?? { all: [] }, 'audience');
  if (!audience.ok) problems.push(...audience.problems);
  const mode = offer_mode ?? 'best_match';
  if (mode !== 'fixed' && mode !== 'best_match') bad('offer_mode', 'must be fixed or best_match');
  const ids = offer_ids ?? [];
  const idsOk =
    Array.isArray(ids) && ids.every((x) => Number.isInteger(x) && x > 0) && new Set(ids).size === ids.length;
  if (!idsOk) bad('offer_ids', 'must be a list of distinct offer ids');
  else if (mode === 'fixed' && ids.length === 0)
    bad('offer_ids', 'a fixed campaign names at least one offer');
  else if (mode === 'best_match' && ids.length > 0)
    bad('offer_ids', 'a best_match campaign draws from all active offers of its purpose');
  const chans = channels;
  const chansOk =
    Array.isArray(chans) &&
    chans.length > 0 &&
    chans.every((c) => (CHANNELS as readonly string[]).includes(c)) &&
    new Set(chans).size === chans.length;
  if (!chansOk) bad('channels', `must be a non-empty list of distinct channels from ${CHANNELS.join(', ')}`);
  const strategy = channel_strategy ?? 'all';
  if (strategy !== 'all' && strategy !== 'first') bad('channel_strategy', 'must be all or first');

  let quietHours: QuietHours | undefined;
  if (input.quiet_hours !== undefined && input.quiet_hours !== null) {
    const q = typeof input.quiet_hours === 'string' ? parseQuietHours(input.quiet_hours) : undefined;
    if (q?.ok) quietHours = q.value;
    else bad('quiet_hours', "must be HH:MM-HH:MM in the person's own time zone, e.g. 21:00-09:00");
  }
  let frequencyCap: FrequencyCap | undefined;
  if (input.frequency_cap !== undefined && input.frequency_cap !== null) {
    const c = typeof input.frequency_cap === 'string' ? parseFrequencyCap(input.frequency_cap) : undefined;
    if (!c?.ok) bad('frequency_cap', 'must be COUNT/WINDOW, e.g. 2/7d');
    else if (
      c.value.max / c.value.windowHours >
      policy.frequencyCapCeiling.max / policy.frequencyCapCeiling.windowHours
    ) {
      bad(
        'frequency_cap',
        `may not allow more than the ceiling of ${policy.frequencyCapCeiling.max} per ${policy.frequencyCapCeiling.windowHours}h`,
      );
    } else frequencyCap = c.value;
  }
  const rate = input.send_rate_per_second;
  if (
    rate !== undefined &&
    rate !== null &&
    !(Number.isInteger(rate) && (rate as number) > 0 && (rate as number) <= 100_000)
  ) {
    bad('send_rate_per_second', 'must be a whole number 1-100000');
  }
  if (problems.length > 0 || !audience.ok) return { ok: false, problems };
  return {
    ok: true,
    value: {
      name: (name as string).trim(),
      purpose: purpose as Purpose,
      audience: audience.rule,
      offerMode: mode as 'fixed' | 'best_match',
      offerIds: ids as number[],
      channels: chans as Channel[],
      channelStrategy: strategy as 'all' | 'first',
      ...(quietHours ? { quietHours } : {}),
      ...(frequencyCap ? { frequencyCap } : {}),
      ...(typeof rate === 'number' ? { sendRatePerSecond: rate } : {}),
    },
  };
}

/** The policy a run applies: the campaign's own settings, else the configured defaults. */
export interface EffectivePolicy {
  readonly quietHours: QuietHours;
  readonly cap: FrequencyCap;
  readonly ceiling: FrequencyCap;
}

export function effectivePolicy(c: CampaignDefinition, policy: Config['policy']): EffectivePolicy {
  return {
    quietHours: c.quietHours ?? policy.quietHours,
    cap: c.frequencyCap ?? policy.frequencyCap,
    ceiling: policy.frequencyCapCeiling,
  };
}

/**
 * The campaign as a run (and its preview) sends it: on its channels, in its order, less those this
 * installation does not send on (CHANNELS). A disabled channel is left out rather than queued for a
 * worker that never starts; with `first` the next enabled channel serves, and a campaign left with
 * none selects nobody. Its approval still holds: what is sent is a part of what was approved.
 */
export function withSendableChannels<T extends { readonly channels: readonly Channel[] }>(
  campaign: T,
  enabled: readonly Channel[],
): T {
  return { ...campaign, channels: campaign.channels.filter((c) => enabled.includes(c)) };
}
