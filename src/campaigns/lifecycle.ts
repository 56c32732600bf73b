import { sql, type UpdateObject } from 'kysely';
import { audit } from '../audit/audit.js';
import { type Actor, SYSTEM } from '../auth/actor.js';
import type { Db } from '../db/database.js';
import type { Database, JsonValue } from '../db/schema.js';
import type { Deps } from '../deps.js';
import { ConflictError } from '../errors/conflict-error.js';
import { NotFoundError } from '../errors/not-found-error.js';
import { ValidationError } from '../errors/validation-error.js';
import { CAMPAIGN_RUNS_QUEUE, CAMPAIGN_SCHEDULES_QUEUE } from '../queue/names.js';
import { queueOf } from '../queue/queues.js';
import { type CampaignInput, parseCampaign } from './campaign.js';
import { type CampaignRow, inputOf, loadCampaign, writeDefinition } from './campaigns.repository.js';
import { createRun, enqueueRun } from './runs.repository.js';
import { removeScheduler, type Schedule, scheduleColumns, scheduleOf, upsertScheduler } from './schedule.js';
import { syncSeedList } from './test-send.js';

/**
 * The campaign lifecycle (docs/campaign-lifecycle.md): one explicit transition table. Every change is
 * one guarded UPDATE (compare-and-set on the status and version read under a row lock) in a
 * transaction with its audit entry; anything the table does not allow is a ConflictError (HTTP 409)
 * naming the current status and the attempted action.
 */
export const CAMPAIGN_STATUSES = [
  'draft',
  'pending_approval',
  'approved',
  'scheduled',
  'running',
  'paused',
  'completed',
  'cancelled',
] as const;
export type CampaignStatus = (typeof CAMPAIGN_STATUSES)[number];
export type { CampaignRow };

interface Transition {
  /** Statuses the action is allowed from. */
  readonly from: readonly CampaignStatus[];
  /** Further statuses allowed when four-eyes approval is switched off (CAMPAIGN_APPROVAL_REQUIRED=false). */
  readonly withoutApproval?: readonly CampaignStatus[];
  /** The status after; `computed`: decided from the campaign's runs and schedule; `same`: unchanged. */
  readonly to: CampaignStatus | 'computed' | 'same';
}

const LIVE: readonly CampaignStatus[] = [
  'draft',
  'pending_approval',
  'approved',
  'scheduled',
  'running',
  'paused',
];

export const TRANSITIONS = {
  /** A new version of the definition; approval is of a version, so it is void and the schedule goes. */
  edit: { from: ['draft', 'pending_approval', 'approved', 'scheduled'], to: 'draft' },
  submit: { from: ['draft'], to: 'pending_approval' },
  /** By someone other than the creator, the last editor and the submitter (four eyes). */
  approve: { from: ['pending_approval'], to: 'approved' },
  reject: { from: ['pending_approval'], to: 'draft' },
  schedule: { from: ['approved', 'scheduled'], withoutApproval: ['draft'], to: 'scheduled' },
  /** Back to approved (or draft, when it never was). */
  unschedule: { from: ['scheduled'], to: 'computed' },
  run_now: { from: ['approved', 'scheduled'], withoutApproval: ['draft'], to: 'running' },
  /** Allowed before approval; never changes the status. */
  test_send: { from: [...LIVE, 'completed'], to: 'same' },
  pause: { from: ['scheduled', 'running'], to: 'paused' },
  /** To running (work left), scheduled (occurrences left) or completed. */
  resume: { from: ['paused'], to: 'computed' },
  cancel: { from: LIVE, to: 'cancelled' },
  /** System: a runner started a (non-test) run. */
  run_started: { from: ['approved', 'scheduled'], to: 'running' },
  /** System: the last run ended and its messages are all done: scheduled or completed. */
  settle: { from: ['running'], to: 'computed' },
} as const satisfies Record<string, Transition>;
export type LifecycleAction = keyof typeof TRANSITIONS;

/** The statuses `action` is allowed from, under the configured approval rule. */
export function allowedFrom(action: LifecycleAction, approvalRequired: boolean): readonly CampaignStatus[] {
  const t: Transition = TRANSITIONS[action];
  return approvalRequired ? t.from : [...t.from, ...(t.withoutApproval ?? [])];
}

export function illegal(id: number, action: LifecycleAction, status: string, approvalRequired: boolean) {
  const allowed = allowedFrom(action, approvalRequired);
  return new ConflictError(
    `cannot ${action.replace('_', ' ')} campaign ${id}: it is ${status} (allowed from ${allowed.join(', ')})`,
    'illegal_transition',
  );
}

interface Change {
  readonly action: LifecycleAction;
  readonly actor: Actor;
  readonly approvalRequired: boolean;
  readonly reason?: string;
  /** Compare-and-set on the version the caller saw. */
  readonly expectVersion?: number;
  /** Extra rules (four eyes); throws. */
  readonly check?: (row: CampaignRow, trx: Db) => Promise<void> | void;
  readonly target?: (row: CampaignRow, trx: Db) => Promise<CampaignStatus>;
  /** Columns to set; values may be SQL (the database clock after the row lock). */
  readonly set?: (row: CampaignRow) => UpdateObject<Database, 'campaigns'>;
  /** More writes in the same transaction, after the campaign row changed. */
  readonly also?: (trx: Db, before: CampaignRow, after: CampaignRow) => Promise<Record<string, JsonValue>>;
}

export interface Changed {
  readonly before: CampaignRow;
  readonly after: CampaignRow;
  readonly details: Record<string, JsonValue>;
}

async function change(db: Db, id: number, c: Change): Promise<Changed> {
  return db.transaction().execute(async (trx) => {
    const before = await trx
      .selectFrom('campaigns')
      .selectAll()
      .where('id', '=', id)
      .forUpdate()
      .executeTakeFirst();
    if (!before) throw new NotFoundError('campaign');
    if (!allowedFrom(c.action, c.approvalRequired).includes(before.status)) {
      throw illegal(id, c.action, before.status, c.approvalRequired);
    }
    if (c.expectVersion !== undefined && c.expectVersion !== before.version) {
      throw new ConflictError(
        `campaign ${id} is at version ${before.version}, not ${c.expectVersion}: reload it and try again`,
        'version_conflict',
      );
    }
    await c.check?.(before, trx);
    const t: Transition = TRANSITIONS[c.action];
    const to: CampaignStatus =
      t.to === 'same'
        ? before.status
        : t.to === 'computed'
          ? await (c.target as NonNullable<Change['target']>)(before, trx)
          : t.to;
    const after = await trx
      .updateTable('campaigns')
      .set({ ...(c.set?.(before) ?? {}), status: to, updated_at: sql<Date>`now()` })
      .where('id', '=', id)
      .where('status', '=', before.status)
      .where('version', '=', before.version)
      .returningAll()
      .executeTakeFirst();
    if (!after) throw illegal(id, c.action, 'changing', c.approvalRequired);
    const details = (await c.also?.(trx, before, after)) ?? {};
    await audit(trx, {
      actor: c.actor,
      action: `campaign.${c.action}`,
      subjectType: 'campaign',
      subjectId: id,
      ...(c.reason !== undefined ? { reason: c.reason } : {}),
      details: { from: before.status, to, version: after.version, ...details },
    });
    return { before, after, details };
  });
}

// ---------------------------------------------------------------------------------------------------
// What the computed targets look at.

/** A non-test run still writing, or a message of one still queued or being sent. */
async function hasWorkLeft(db: Db, campaignId: number): Promise<boolean> {
  const row = await sql<{ busy: boolean }>`
    SELECT EXISTS (SELECT 1 FROM campaign_runs r WHERE r.campaign_id = ${campaignId}::bigint
                     AND r.trigger <> 'test' AND r.status IN ('pending', 'running'))
        OR EXISTS (SELECT 1 FROM messages m JOIN campaign_runs r ON r.id = m.run_id
                   WHERE m.campaign_id = ${campaignId}::bigint AND m.status IN ('queued', 'sending')
                     AND r.trigger <> 'test') AS busy
  `.execute(db);
  return row.rows[0]?.busy === true;
}

/** SQL: the campaign `c` has occurrences to come (recurring and not ended; once and not yet run). */
const FUTURE_OCCURRENCE_SQL = sql<boolean>`(
  (c.schedule_kind IN ('cron', 'every') AND (c.schedule_ends_at IS NULL OR c.schedule_ends_at > now()))
  OR (c.schedule_kind = 'once' AND NOT EXISTS (
        SELECT 1 FROM campaign_runs r WHERE r.campaign_id = c.id AND r.trigger = 'schedule'))
)`;

async function hasFutureOccurrence(db: Db, campaignId: number): Promise<boolean> {
  const row = await sql<{ future: boolean }>`
    SELECT ${FUTURE_OCCURRENCE_SQL} AS future FROM campaigns c WHERE c.id = ${campaignId}::bigint
  `.execute(db);
  return row.rows[0]?.future === true;
}

// ---------------------------------------------------------------------------------------------------
// The operations. Each takes the process's Deps (the database, the configuration, the queues).

/** Mirrors the stored schedule into BullMQ after a commit; the scheduler role repairs any miss. */
async function mirrorSchedule(deps: Deps, row: CampaignRow, fresh = false): Promise<void> {
  const queue = queueOf(deps, CAMPAIGN_SCHEDULES_QUEUE);
  const schedule = scheduleOf(row);
  try {
    if (schedule && ['scheduled', 'running', 'paused'].includes(row.status)) {
      if (fresh) await removeScheduler(queue, row.id);
      await upsertScheduler(queue, row.id, schedule);
    } else {
      await removeScheduler(queue, row.id);
    }
  } catch (err) {
    deps.logger.warn(
      { err, campaignId: row.id },
      'could not mirror the schedule into Redis; the scheduler role re-creates it from PostgreSQL',
    );
  }
}

const options = (deps: Deps) => ({ approvalRequired: deps.config.campaigns.approvalRequired });

/** PATCH: a new version of the definition (fields not given stay). Approval and schedule are void. */
export async function editCampaign(
  deps: Deps,
  id: number,
  input: CampaignInput,
  actor: Actor,
  expectVersion?: number,
): Promise<Changed> {
  const current = await loadCampaign(deps.db, id);
  const parsed = parseCampaign({ ...inputOf(current), ...input }, deps.config.policy);
  if (!parsed.ok) throw new ValidationError(parsed.problems);
  const changed = await change(deps.db, id, {
    action: 'edit',
    actor,
    ...options(deps),
    ...(expectVersion !== undefined ? { expectVersion } : {}),
    set: (row) => ({
      version: row.version + 1,
      updated_by: actor.id,
      approved_version: null,
      approved_by: null,
      approved_at: null,
      ...scheduleColumns(undefined),
    }),
    also: async (trx, before) => {
      await writeDefinition(trx, id, parsed.value);
      const none: Record<string, JsonValue> = {};
      if (before.status === 'draft') return none;
      await trx
        .insertInto('campaign_approvals')
        .values({
          campaign_id: id,
          campaign_version: before.version,
          action: 'revoked',
          actor: actor.id,
          reason: 'edited',
        })
        .execute();
      return {
        approval_revoked: before.status !== 'pending_approval',
        schedule_removed: before.status === 'scheduled',
      };
    },
  });
  if (changed.before.status === 'scheduled') await mirrorSchedule(deps, changed.after);
  return changed;
}

async function recordApproval(
  trx: Db,
  row: CampaignRow,
  action: 'requested' | 'approved' | 'rejected',
  actor: Actor,
  reason?: string,
): Promise<Record<string, JsonValue>> {
  await trx
    .insertInto('campaign_approvals')
    .values({
      campaign_id: row.id,
      campaign_version: row.version,
      action,
      actor: actor.id,
      reason: reason ?? null,
    })
    .execute();
  return {};
}

export async function submitCampaign(
  deps: Deps,
  id: number,
  actor: Actor,
  reason?: string,
): Promise<Changed> {
  if (!deps.config.campaigns.approvalRequired) {
    throw new ConflictError(
      'approval is switched off (CAMPAIGN_APPROVAL_REQUIRED=false): schedule or run the draft directly',
      'approval_not_required',
    );
  }
  return change(deps.db, id, {
    action: 'submit',
    actor,
    ...options(deps),
    ...(reason !== undefined ? { reason } : {}),
    also: (trx, _before, after) => recordApproval(trx, after, 'requested', actor, reason),
  });
}

/** Four eyes: the approver is none of the creator, the last editor and the one who asked. */
export async function approveCampaign(
  deps: Deps,
  id: number,
  actor: Actor,
  input: { version?: number; reason?: string } = {},
): Promise<Changed> {
  return change(deps.db, id, {
    action: 'approve',
    actor,
    ...options(deps),
    ...(input.version !== undefined ? { expectVersion: input.version } : {}),
    ...(input.reason !== undefined ? { reason: input.reason } : {}),
    check: async (row, trx) => {
      const requested = await trx
        .selectFrom('campaign_approvals')
        .select('actor')
        .where('campaign_id', '=', id)
        .where('campaign_version', '=', row.version)
        .where('action', '=', 'requested')
        .execute();
      const own = [row.created_by, row.updated_by, ...requested.map((r) => r.actor)];
      if (own.includes(actor.id)) {
        throw new ConflictError(
          `four-eyes approval: ${actor.id} created, edited or submitted campaign ${id} and may not approve it; a second person must`,
          'four_eyes',
        );
      }
    },
    set: (row) => ({ approved_version: row.version, approved_by: actor.id, approved_at: new Date() }),
    also: (trx, _before, after) => recordApproval(trx, after, 'approved', actor, input.reason),
  });
}

export async function rejectCampaign(deps: Deps, id: number, actor: Actor, reason: string): Promise<Changed> {
  return change(deps.db, id, {
    action: 'reject',
    actor,
    ...options(deps),
    reason,
    also: (trx, _before, after) => recordApproval(trx, after, 'rejected', actor, reason),
  });
}

function requireApprovedVersion(deps: Deps, row: CampaignRow): void {
  if (deps.config.campaigns.approvalRequired && row.approved_version !== row.version) {
    throw new ConflictError(
      `campaign ${row.id} version ${row.version} is not approved; submit it for approval first`,
      'not_approved',
    );
  }
}

export async function scheduleCampaign(
  deps: Deps,
  id: number,
  schedule: Schedule,
  actor: Actor,
): Promise<Changed> {
  const changed = await change(deps.db, id, {
    action: 'schedule',
    actor,
    ...options(deps),
    check: (row) => requireApprovedVersion(deps, row),
    set: () => ({ ...scheduleColumns(schedule), updated_by: actor.id }),
    also: async () => ({ schedule: schedule.kind }),
  });
  await mirrorSchedule(deps, changed.after, true);
  return changed;
}

export async function unscheduleCampaign(deps: Deps, id: number, actor: Actor): Promise<Changed> {
  const changed = await change(deps.db, id, {
    action: 'unschedule',
    actor,
    ...options(deps),
    target: async (row) => (row.approved_version === row.version ? 'approved' : 'draft'),
    set: () => scheduleColumns(undefined),
  });
  await mirrorSchedule(deps, changed.after);
  return changed;
}

/** Runs the campaign once now (a manual run); the run is created with the status change. */
export async function runCampaignNow(
  deps: Deps,
  id: number,
  actor: Actor,
): Promise<Changed & { runId: number }> {
  let runId = 0;
  const changed = await change(deps.db, id, {
    action: 'run_now',
    actor,
    ...options(deps),
    check: (row) => requireApprovedVersion(deps, row),
    also: async (trx) => {
      runId = (
        await createRun(trx, {
          campaignId: id,
          trigger: 'manual',
          occurrenceKey: `manual-${new Date().toISOString()}`,
        })
      ).runId;
      return { run_id: runId };
    },
  });
  await enqueueRun(queueOf(deps, CAMPAIGN_RUNS_QUEUE), runId);
  return { ...changed, runId };
}

/**
 * A test send: the campaign's current version run to the configured seed list only (trigger `test`),
 * allowed before approval; the status does not change. Consent, contact, suppression, quiet hours
 * and caps apply to the seeds as to anyone; their messages count for their caps like any other.
 */
export async function testSendCampaign(
  deps: Deps,
  id: number,
  actor: Actor,
): Promise<Changed & { runId: number; seeds: number }> {
  const seeds = deps.config.campaigns.testSeedClientNumbers;
  if (seeds.length === 0) {
    throw new ConflictError(
      'no test seeds are configured: set CAMPAIGN_TEST_SEED_CLIENT_NUMBERS',
      'no_test_seeds',
    );
  }
  const list = await syncSeedList(deps.db, seeds, actor.id);
  let runId = 0;
  const changed = await change(deps.db, id, {
    action: 'test_send',
    actor,
    ...options(deps),
    also: async (trx) => {
      runId = (
        await createRun(trx, {
          campaignId: id,
          trigger: 'test',
          occurrenceKey: `test-${new Date().toISOString()}`,
        })
      ).runId;
      return { run_id: runId, seeds: list.members };
    },
  });
  await enqueueRun(queueOf(deps, CAMPAIGN_RUNS_QUEUE), runId);
  return { ...changed, runId, seeds: list.members };
}

/**
 * Holds sending: queued messages stay queued and the workers defer them; scheduled ticks are skipped.
 * `paused_at` is the database clock once the campaign row is locked (after every claim holding it FOR
 * SHARE committed), like an emergency stop's `stopped_at`: no claim of the campaign decided after it.
 */
export async function pauseCampaign(deps: Deps, id: number, actor: Actor, reason?: string): Promise<Changed> {
  return change(deps.db, id, {
    action: 'pause',
    actor,
    ...options(deps),
    ...(reason !== undefined ? { reason } : {}),
    set: () => ({ paused_at: sql<Date>`clock_timestamp()` }),
  });
}

export async function resumeCampaign(
  deps: Deps,
  id: number,
  actor: Actor,
  reason?: string,
): Promise<Changed> {
  const changed = await change(deps.db, id, {
    action: 'resume',
    actor,
    ...options(deps),
    ...(reason !== undefined ? { reason } : {}),
    target: async (row, trx) =>
      (await hasWorkLeft(trx, row.id))
        ? 'running'
        : (await hasFutureOccurrence(trx, row.id))
          ? 'scheduled'
          : 'completed',
    set: () => ({ paused_at: null }),
  });
  // A once-schedule whose time passed during the pause fires now (nothing is lost).
  await mirrorSchedule(deps, changed.after, changed.after.schedule_kind === 'once');
  return changed;
}

/**
 * Cancels: the schedule goes, runs not yet started are cancelled (a running one stops at its next
 * chunk), and every still-queued message ends `skipped` (`campaign_cancelled`) in the same
 * transaction; the workers skip any message that slips past (claim.ts).
 */
export async function cancelCampaign(
  deps: Deps,
  id: number,
  actor: Actor,
  reason?: string,
): Promise<Changed & { skipped: number }> {
  const changed = await change(deps.db, id, {
    action: 'cancel',
    actor,
    ...options(deps),
    ...(reason !== undefined ? { reason } : {}),
    set: () => ({ cancelled_at: new Date(), paused_at: null }),
    also: async (trx) => {
      const skipped = await trx
        .updateTable('messages')
        .set({ status: 'skipped', skip_reason: 'campaign_cancelled', finished_at: sql<Date>`now()` })
        .where('campaign_id', '=', id)
        .where('status', '=', 'queued')
        .executeTakeFirst();
      const runs = await trx
        .updateTable('campaign_runs')
        .set({
          status: 'cancelled',
          finished_at: sql<Date>`now()`,
          lease_owner: null,
          lease_expires_at: null,
        })
        .where('campaign_id', '=', id)
        .where('status', '=', 'pending')
        .executeTakeFirst();
      return { skipped: Number(skipped.numUpdatedRows), runs_cancelled: Number(runs.numUpdatedRows) };
    },
  });
  await mirrorSchedule(deps, changed.after);
  return { ...changed, skipped: Number(changed.details.skipped ?? 0) };
}

// ---------------------------------------------------------------------------------------------------
// System transitions, driven by the runner and the scheduler role. They never throw for a status
// that does not fit (a run of a draft started by a test helper, a paused campaign): nothing changes.

/** A runner started a non-test run: approved / scheduled → running. */
export async function markRunStarted(db: Db, campaignId: number, runId: number): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .updateTable('campaigns')
      .set({ status: 'running', updated_at: sql<Date>`now()` })
      .where('id', '=', campaignId)
      .where('status', 'in', [...TRANSITIONS.run_started.from])
      .returning(['version'])
      .executeTakeFirst();
    if (!row) return false;
    await audit(trx, {
      actor: SYSTEM,
      action: 'campaign.run_started',
      subjectType: 'campaign',
      subjectId: campaignId,
      details: { to: 'running', version: row.version, run_id: runId },
    });
    return true;
  });
}

/**
 * Running campaigns whose runs ended and whose messages are all done become scheduled (occurrences
 * to come) or completed. One set-based statement; `campaignId` narrows it to one campaign.
 */
export async function settleCampaigns(
  db: Db,
  campaignId?: number,
): Promise<{ id: number; status: 'scheduled' | 'completed' }[]> {
  return db.transaction().execute(async (trx) => {
    const only = campaignId === undefined ? sql`` : sql`AND c.id = ${campaignId}::bigint`;
    const { rows } = await sql<{ id: number; status: 'scheduled' | 'completed'; version: number }>`
      WITH done AS (
        SELECT c.id, CASE WHEN ${FUTURE_OCCURRENCE_SQL} THEN 'scheduled' ELSE 'completed' END AS to_status
        FROM campaigns c
        WHERE c.status = 'running' ${only}
          AND NOT EXISTS (SELECT 1 FROM campaign_runs r WHERE r.campaign_id = c.id
                            AND r.trigger <> 'test' AND r.status IN ('pending', 'running'))
          AND NOT EXISTS (SELECT 1 FROM messages m JOIN campaign_runs r ON r.id = m.run_id
                          WHERE m.campaign_id = c.id AND m.status IN ('queued', 'sending') AND r.trigger <> 'test')
        FOR UPDATE OF c SKIP LOCKED
      )
      UPDATE campaigns c SET status = done.to_status, updated_at = now()
      FROM done WHERE c.id = done.id AND c.status = 'running'
      RETURNING c.id, c.status, c.version
    `.execute(trx);
    for (const r of rows) {
      await audit(trx, {
        actor: SYSTEM,
        action: 'campaign.settle',
        subjectType: 'campaign',
        subjectId: r.id,
        details: { from: 'running', to: r.status, version: r.version },
      });
    }
    return rows.map((r) => ({ id: Number(r.id), status: r.status }));
  });
}
