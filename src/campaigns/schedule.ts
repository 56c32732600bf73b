import type { Queue, RepeatOptions } from 'bullmq';
import { CronExpressionParser } from 'cron-parser';
import type { FieldProblem } from '../errors/validation-error.js';
import { parseIdPayload } from '../queue/id-payload.js';
import { isTimeZone } from '../recipients/recipient-input.js';

/**
 * When a campaign runs: once at a time, by cron in an IANA time zone, or every N seconds (short
 * intervals are for tests), each recurring kind with an optional end. Stored in PostgreSQL (the
 * campaigns.schedule_* columns, the source of truth) and mirrored into a BullMQ job scheduler.
 */
export type Schedule =
  | { readonly kind: 'once'; readonly at: Date }
  | { readonly kind: 'cron'; readonly cron: string; readonly timeZone: string; readonly endsAt?: Date }
  | { readonly kind: 'every'; readonly everySeconds: number; readonly endsAt?: Date };

export interface ScheduleInput {
  kind?: unknown;
  at?: unknown;
  cron?: unknown;
  time_zone?: unknown;
  every_seconds?: unknown;
  ends_at?: unknown;
}

const DEFAULT_TIME_ZONE = 'Europe/Riga';
const MAX_EVERY_SECONDS = 366 * 24 * 3600;

function date(value: unknown): Date | undefined {
  if (typeof value !== 'string') return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** Validates a schedule, naming every invalid field (`schedule/cron`, ...). */
export function parseSchedule(
  input: ScheduleInput,
  now = new Date(),
  path = 'body',
): { ok: true; value: Schedule } | { ok: false; problems: FieldProblem[] } {
  const problems: FieldProblem[] = [];
  const bad = (field: string, message: string) => problems.push({ field: `${path}/${field}`, message });
  const allowed: Record<string, readonly string[]> = {
    once: ['kind', 'at'],
    cron: ['kind', 'cron', 'time_zone', 'ends_at'],
    every: ['kind', 'every_seconds', 'ends_at'],
  };
  const kind = input.kind;
  if (kind !== 'once' && kind !== 'cron' && kind !== 'every') {
    bad('kind', 'must be once, cron or every');
    return { ok: false, problems };
  }
  for (const [key, value] of Object.entries(input)) {
    if (value !== undefined && !allowed[kind]?.includes(key)) bad(key, `is not used by a ${kind} schedule`);
  }
  let endsAt: Date | undefined;
  if (input.ends_at !== undefined && input.ends_at !== null && kind !== 'once') {
    endsAt = date(input.ends_at);
    if (!endsAt) bad('ends_at', 'must be an ISO 8601 date-time');
    else if (endsAt <= now) bad('ends_at', 'must be in the future');
  }
  if (kind === 'once') {
    const at = date(input.at);
    if (!at) bad('at', 'must be an ISO 8601 date-time');
    else if (at <= now) bad('at', 'must be in the future');
    return problems.length > 0 || !at ? { ok: false, problems } : { ok: true, value: { kind, at } };
  }
  if (kind === 'every') {
    const s = input.every_seconds;
    const ok = Number.isInteger(s) && (s as number) >= 1 && (s as number) <= MAX_EVERY_SECONDS;
    if (!ok) bad('every_seconds', `must be a whole number of seconds, 1-${MAX_EVERY_SECONDS}`);
    if (problems.length > 0) return { ok: false, problems };
    return {
      ok: true,
      value: { kind, everySeconds: s as number, ...(endsAt ? { endsAt } : {}) },
    };
  }
  const tz = input.time_zone ?? DEFAULT_TIME_ZONE;
  const tzOk = typeof tz === 'string' && isTimeZone(tz);
  if (!tzOk) bad('time_zone', 'must be an IANA time zone, e.g. Europe/Riga');
  const cron = input.cron;
  if (typeof cron !== 'string' || cron.trim().length < 9 || cron.length > 120) {
    bad('cron', 'must be a cron expression of 9-120 characters, e.g. "0 10 * * 1" (Mondays 10:00)');
  } else {
    // The same parser BullMQ computes the next time with: what it accepts here, BullMQ accepts.
    try {
      CronExpressionParser.parse(cron, { tz: tzOk ? (tz as string) : DEFAULT_TIME_ZONE, strict: false });
    } catch (err) {
      bad('cron', `is not a valid cron expression: ${(err as Error).message}`);
    }
  }
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    value: { kind, cron: (cron as string).trim(), timeZone: tz as string, ...(endsAt ? { endsAt } : {}) },
  };
}

/** The campaigns.schedule_* columns of a schedule (or of none). */
export function scheduleColumns(s: Schedule | undefined) {
  return {
    schedule_kind: s?.kind ?? 'none',
    schedule_at: s?.kind === 'once' ? s.at : null,
    schedule_cron: s?.kind === 'cron' ? s.cron : null,
    schedule_every_seconds: s?.kind === 'every' ? s.everySeconds : null,
    schedule_time_zone: s?.kind === 'cron' ? s.timeZone : DEFAULT_TIME_ZONE,
    schedule_ends_at: s !== undefined && s.kind !== 'once' ? (s.endsAt ?? null) : null,
  } as const;
}

export interface ScheduleColumns {
  readonly schedule_kind: 'none' | 'once' | 'cron' | 'every';
  readonly schedule_at: Date | null;
  readonly schedule_cron: string | null;
  readonly schedule_every_seconds: number | null;
  readonly schedule_time_zone: string;
  readonly schedule_ends_at: Date | null;
}

/** The schedule stored in a campaign row, if any. */
export function scheduleOf(row: ScheduleColumns): Schedule | undefined {
  const endsAt = row.schedule_ends_at ? { endsAt: row.schedule_ends_at } : {};
  if (row.schedule_kind === 'once' && row.schedule_at) return { kind: 'once', at: row.schedule_at };
  if (row.schedule_kind === 'cron' && row.schedule_cron)
    return { kind: 'cron', cron: row.schedule_cron, timeZone: row.schedule_time_zone, ...endsAt };
  if (row.schedule_kind === 'every' && row.schedule_every_seconds)
    return { kind: 'every', everySeconds: row.schedule_every_seconds, ...endsAt };
  return undefined;
}

/** The JSON view of a schedule (API, CLI). */
export function scheduleView(s: Schedule | undefined) {
  if (!s) return null;
  if (s.kind === 'once') return { kind: s.kind, at: s.at.toISOString() };
  const ends = { ends_at: s.endsAt?.toISOString() ?? null };
  return s.kind === 'cron'
    ? { kind: s.kind, cron: s.cron, time_zone: s.timeZone, ...ends }
    : { kind: s.kind, every_seconds: s.everySeconds, ...ends };
}

/** One BullMQ job scheduler per campaign. */
export function schedulerId(campaignId: number): string {
  return `campaign-${campaignId}`;
}

export function campaignOfSchedulerId(id: string): number | undefined {
  const m = /^campaign-(\d{1,15})$/.exec(id);
  return m ? Number(m[1]) : undefined;
}

const DAY_MS = 24 * 3600 * 1000;

/** BullMQ repeat options: a once-schedule is a scheduler that fires one time, at `at` (or at once if past). */
export function repeatOptions(s: Schedule): Omit<RepeatOptions, 'key'> {
  if (s.kind === 'once') return { every: DAY_MS, startDate: s.at, limit: 1 };
  const end = s.endsAt ? { endDate: s.endsAt } : {};
  if (s.kind === 'cron') return { pattern: s.cron, tz: s.timeZone, ...end };
  return { every: s.everySeconds * 1000, ...end };
}

/** What a tick job carries: the campaign id only (N16). */
export interface TickData {
  readonly campaignId: number;
}

export function parseTick(data: unknown): TickData | undefined {
  return parseIdPayload(data, 'campaignId');
}

/**
 * The occurrence a tick stands for, the run's occurrence key: a tick delivered twice (or re-created
 * after Redis lost the scheduler) makes one run. BullMQ names a scheduler's job
 * `repeat:<scheduler id>:<scheduled millis>`; a once-schedule's occurrence is its stored time.
 */
export function occurrenceKey(s: Schedule, jobId: string | undefined, fallback: number): string {
  if (s.kind === 'once') return `once-${s.at.toISOString()}`;
  const millis = Number(/:(\d{10,16})$/.exec(jobId ?? '')?.[1] ?? fallback);
  return `tick-${new Date(millis).toISOString()}`;
}

/** Creates or updates the campaign's job scheduler (PostgreSQL stays the truth; this is the mirror). */
export async function upsertScheduler(queue: Queue, campaignId: number, s: Schedule): Promise<void> {
  await queue.upsertJobScheduler(schedulerId(campaignId), repeatOptions(s), {
    name: 'tick',
    data: { campaignId } satisfies TickData,
    opts: { removeOnComplete: true, removeOnFail: { age: 7 * 24 * 3600 }, attempts: 5 },
  });
}

export async function removeScheduler(queue: Queue, campaignId: number): Promise<void> {
  await queue.removeJobScheduler(schedulerId(campaignId));
}
