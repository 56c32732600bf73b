import { type Static, type TSchema, Type } from '@sinclair/typebox';
import type { Db } from '../db/database.js';
import { NotFoundError } from '../errors/not-found-error.js';
import { ValidationError } from '../errors/validation-error.js';
import type { HttpContext, TypedApp } from '../http/context.js';
import { actorOf } from '../http/auth.js';
import { Channel, ERROR_RESPONSES, Nullable, Purpose, Timestamp } from '../http/schemas.js';
import { type CampaignInput, parseCampaign } from './campaign.js';
import { createCampaign, loadCampaign } from './campaigns.repository.js';
import {
  approveCampaign,
  CAMPAIGN_STATUSES,
  type CampaignRow,
  cancelCampaign,
  editCampaign,
  pauseCampaign,
  rejectCampaign,
  resumeCampaign,
  runCampaignNow,
  scheduleCampaign,
  submitCampaign,
  testSendCampaign,
  unscheduleCampaign,
} from './lifecycle.js';
import { previewCampaign } from './preview.js';
import { parseSchedule, scheduleOf, scheduleView } from './schedule.js';

const IdParams = Type.Object(
  { id: Type.String({ pattern: '^[0-9]{1,15}$', description: 'the campaign id' }) },
  { additionalProperties: false },
);
const Status = Type.Union(CAMPAIGN_STATUSES.map((s) => Type.Literal(s)));

const DefinitionFields = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  purpose: Purpose,
  audience: Type.Object(
    {},
    { additionalProperties: true, description: 'an audience rule (docs/audience-rules.md)' },
  ),
  offer_mode: Type.Union([Type.Literal('fixed'), Type.Literal('best_match')]),
  offer_ids: Type.Array(Type.Integer({ minimum: 1 }), { maxItems: 100 }),
  channels: Type.Array(Channel, { minItems: 1, maxItems: 3, description: 'in order of preference' }),
  channel_strategy: Type.Union([Type.Literal('all'), Type.Literal('first')]),
  quiet_hours: Nullable(
    Type.String({ description: "HH:MM-HH:MM in the person's own time zone; null: default" }),
  ),
  frequency_cap: Nullable(Type.String({ description: 'COUNT/WINDOW, e.g. 2/7d; null: default' })),
  send_rate_per_second: Nullable(Type.Integer({ minimum: 1 })),
};
const CreateBody = Type.Object(
  {
    name: DefinitionFields.name,
    purpose: DefinitionFields.purpose,
    channels: DefinitionFields.channels,
    audience: Type.Optional(DefinitionFields.audience),
    offer_mode: Type.Optional(DefinitionFields.offer_mode),
    offer_ids: Type.Optional(DefinitionFields.offer_ids),
    channel_strategy: Type.Optional(DefinitionFields.channel_strategy),
    quiet_hours: Type.Optional(DefinitionFields.quiet_hours),
    frequency_cap: Type.Optional(DefinitionFields.frequency_cap),
    send_rate_per_second: Type.Optional(DefinitionFields.send_rate_per_second),
  },
  { additionalProperties: false },
);
const PatchBody = Type.Object(
  {
    ...Object.fromEntries(Object.entries(DefinitionFields).map(([k, v]) => [k, Type.Optional(v as TSchema)])),
    version: Type.Optional(
      Type.Integer({ minimum: 1, description: 'the version you edited: 409 if the campaign moved on' }),
    ),
  },
  { additionalProperties: false },
);
const ScheduleBody = Type.Object(
  {
    kind: Type.Union([Type.Literal('once'), Type.Literal('cron'), Type.Literal('every')]),
    at: Type.Optional(Type.String({ format: 'date-time', description: 'once: when' })),
    cron: Type.Optional(Type.String({ description: 'cron: five or six fields, e.g. "0 10 * * 1"' })),
    time_zone: Type.Optional(Type.String({ description: 'cron: IANA time zone (default Europe/Riga)' })),
    every_seconds: Type.Optional(Type.Integer({ description: 'every: the interval in seconds' })),
    ends_at: Type.Optional(
      Nullable(Type.String({ format: 'date-time', description: 'cron / every: the last time' })),
    ),
  },
  { additionalProperties: false },
);
const Reason = Type.String({ minLength: 1, maxLength: 2000 });
const ReasonBody = Nullable(Type.Object({ reason: Type.Optional(Reason) }, { additionalProperties: false }));
const ApproveBody = Nullable(
  Type.Object(
    {
      version: Type.Optional(
        Type.Integer({ minimum: 1, description: 'the version you reviewed: 409 if it moved on' }),
      ),
      reason: Type.Optional(Reason),
    },
    { additionalProperties: false },
  ),
);
const RejectBody = Type.Object({ reason: Reason }, { additionalProperties: false });
const PreviewBody = Nullable(
  Type.Object(
    { sample_size: Type.Optional(Type.Integer({ minimum: 0, maximum: 50 })) },
    { additionalProperties: false },
  ),
);

const ScheduleView = Nullable(
  Type.Object({
    kind: Type.String(),
    at: Type.Optional(Type.String()),
    cron: Type.Optional(Type.String()),
    time_zone: Type.Optional(Type.String()),
    every_seconds: Type.Optional(Type.Integer()),
    ends_at: Type.Optional(Nullable(Type.String())),
  }),
);
export const CampaignView = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  purpose: Purpose,
  status: Status,
  version: Type.Integer(),
  approved_version: Nullable(Type.Integer()),
  approved_by: Nullable(Type.String()),
  approved_at: Nullable(Timestamp),
  audience: Type.Unknown(),
  offer_mode: Type.String(),
  offer_ids: Type.Array(Type.Integer()),
  channels: Type.Array(Type.String()),
  channel_strategy: Type.String(),
  quiet_hours: Nullable(Type.String()),
  frequency_cap: Nullable(Type.String()),
  send_rate_per_second: Nullable(Type.Integer()),
  schedule: ScheduleView,
  created_by: Type.String(),
  updated_by: Nullable(Type.String()),
  created_at: Timestamp,
  updated_at: Timestamp,
  paused_at: Nullable(Timestamp),
  cancelled_at: Nullable(Timestamp),
});
type CampaignViewT = Static<typeof CampaignView>;

const hhmm = (m: number) =>
  `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;

export function campaignView(row: CampaignRow, offerIds: readonly number[]): CampaignViewT {
  return {
    id: row.id,
    name: row.name,
    purpose: row.purpose,
    status: row.status,
    version: row.version,
    approved_version: row.approved_version,
    approved_by: row.approved_by,
    approved_at: row.approved_at,
    audience: row.audience,
    offer_mode: row.offer_mode,
    offer_ids: [...offerIds],
    channels: row.channels,
    channel_strategy: row.channel_strategy,
    quiet_hours:
      row.quiet_start_minute === null || row.quiet_end_minute === null
        ? null
        : `${hhmm(row.quiet_start_minute)}-${hhmm(row.quiet_end_minute)}`,
    frequency_cap:
      row.frequency_cap_max === null ? null : `${row.frequency_cap_max}/${row.frequency_cap_window_hours}h`,
    send_rate_per_second: row.send_rate_per_second,
    schedule: scheduleView(scheduleOf(row)),
    created_by: row.created_by,
    updated_by: row.updated_by,
    created_at: row.created_at,
    updated_at: row.updated_at,
    paused_at: row.paused_at,
    cancelled_at: row.cancelled_at,
  };
}

/** Campaigns as the API shows them (with their offer ids), in id order. */
export async function campaignViews(db: Db, rows: readonly CampaignRow[]): Promise<CampaignViewT[]> {
  if (rows.length === 0) return [];
  const offers = await db
    .selectFrom('campaign_offers')
    .select(['campaign_id', 'offer_id'])
    .where(
      'campaign_id',
      'in',
      rows.map((r) => r.id),
    )
    .orderBy('offer_id')
    .execute();
  return rows.map((r) =>
    campaignView(
      r,
      offers.filter((o) => o.campaign_id === r.id).map((o) => o.offer_id),
    ),
  );
}

async function viewOf(db: Db, row: CampaignRow): Promise<CampaignViewT> {
  const [view] = await campaignViews(db, [row]);
  return view as CampaignViewT;
}

/** Rule problems name body fields: `body/offer_ids/0`. */
async function inBody<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof ValidationError)
      throw new ValidationError(err.fields.map((f) => ({ field: `body/${f.field}`, message: f.message })));
    throw err;
  }
}

const WithRun = Type.Object({ campaign: CampaignView, run_id: Type.Integer() });
const routeSchema = <B extends TSchema, R extends TSchema>(
  summary: string,
  body: B | undefined,
  response: R,
) => ({
  summary,
  tags: ['campaigns'],
  params: IdParams,
  ...(body ? { body } : {}),
  response: { 200: response, ...ERROR_RESPONSES },
});

export function registerCampaignRoutes(app: TypedApp, ctx: HttpContext): void {
  const { deps } = ctx;
  const { db } = deps;
  const one = Type.Object({ campaign: CampaignView });
  const reasonOf = (body: { reason?: string } | null | undefined) => body?.reason;

  app.post(
    '/campaigns',
    {
      config: { scope: 'campaigns:write' },
      schema: {
        summary: 'Create a campaign (a draft, version 1)',
        tags: ['campaigns'],
        body: CreateBody,
        response: { 201: one, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const parsed = parseCampaign(request.body as CampaignInput, deps.config.policy);
      if (!parsed.ok)
        throw new ValidationError(parsed.problems.map((p) => ({ ...p, field: `body/${p.field}` })));
      const stored = await inBody(() => createCampaign(db, parsed.value, actorOf(request)));
      const row = await db
        .selectFrom('campaigns')
        .selectAll()
        .where('id', '=', stored.id)
        .executeTakeFirstOrThrow();
      return reply.code(201).send({ campaign: await viewOf(db, row) });
    },
  );

  app.get(
    '/campaigns',
    {
      config: { scope: 'campaigns:write' },
      schema: {
        summary: 'List campaigns (keyset-paged by id)',
        tags: ['campaigns'],
        querystring: Type.Object(
          {
            status: Type.Optional(Status),
            after: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$' })),
            limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,3}$', description: '1-500, default 100' })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ campaigns: Type.Array(CampaignView) }), ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const q = request.query;
      const limit = Math.min(500, Math.max(1, Number(q.limit ?? 100)));
      let query = db.selectFrom('campaigns').selectAll().orderBy('id').limit(limit);
      if (q.status !== undefined) query = query.where('status', '=', q.status);
      if (q.after !== undefined) query = query.where('id', '>', Number(q.after));
      return { campaigns: await campaignViews(db, await query.execute()) };
    },
  );

  app.get(
    '/campaigns/:id',
    {
      config: { scope: 'campaigns:write' },
      schema: routeSchema('A campaign with its status, version, approval and schedule', undefined, one),
    },
    async (request) => {
      const row = await db
        .selectFrom('campaigns')
        .selectAll()
        .where('id', '=', Number(request.params.id))
        .executeTakeFirst();
      if (!row) throw new NotFoundError('campaign');
      return { campaign: await viewOf(db, row) };
    },
  );

  app.patch(
    '/campaigns/:id',
    {
      config: { scope: 'campaigns:write' },
      schema: routeSchema(
        'Edit the definition: a new version; an approved or scheduled campaign returns to draft (approval is of a version)',
        PatchBody,
        one,
      ),
    },
    async (request) => {
      const { version, ...input } = request.body as CampaignInput & { version?: number };
      const changed = await inBody(() =>
        editCampaign(deps, Number(request.params.id), input, actorOf(request), version),
      );
      return { campaign: await viewOf(db, changed.after) };
    },
  );

  const simple = (
    path: string,
    summary: string,
    scope: 'campaigns:write' | 'campaigns:approve',
    body: TSchema,
    act: (
      id: number,
      request: { body: unknown; principal?: Parameters<typeof actorOf>[0]['principal'] },
    ) => Promise<{
      after: CampaignRow;
    }>,
  ) =>
    app.post(
      `/campaigns/:id/${path}`,
      { config: { scope }, schema: routeSchema(summary, body, one) },
      async (request) => ({
        campaign: await viewOf(db, (await act(Number(request.params.id), request)).after),
      }),
    );

  simple(
    'submit',
    'Ask for approval of the current version (four eyes)',
    'campaigns:write',
    ReasonBody,
    (id, r) => submitCampaign(deps, id, actorOf(r), reasonOf(r.body as Static<typeof ReasonBody>)),
  );
  simple(
    'approve',
    'Approve the submitted version: by someone other than its creator, last editor and submitter',
    'campaigns:approve',
    ApproveBody,
    (id, r) => approveCampaign(deps, id, actorOf(r), (r.body as Static<typeof ApproveBody>) ?? {}),
  );
  simple(
    'reject',
    'Send the submitted version back to draft, with a reason',
    'campaigns:approve',
    RejectBody,
    (id, r) => rejectCampaign(deps, id, actorOf(r), (r.body as Static<typeof RejectBody>).reason),
  );
  simple(
    'schedule',
    'Schedule: once at a time, cron in a time zone, or every N seconds (an approved campaign)',
    'campaigns:write',
    ScheduleBody,
    async (id, r) => {
      const parsed = parseSchedule(r.body as Static<typeof ScheduleBody>);
      if (!parsed.ok) throw new ValidationError(parsed.problems);
      return scheduleCampaign(deps, id, parsed.value, actorOf(r));
    },
  );
  simple(
    'pause',
    'Hold sending: queued messages wait, scheduled ticks are skipped',
    'campaigns:write',
    ReasonBody,
    (id, r) => pauseCampaign(deps, id, actorOf(r), reasonOf(r.body as Static<typeof ReasonBody>)),
  );
  simple('resume', 'Continue a paused campaign', 'campaigns:write', ReasonBody, (id, r) =>
    resumeCampaign(deps, id, actorOf(r), reasonOf(r.body as Static<typeof ReasonBody>)),
  );

  app.delete(
    '/campaigns/:id/schedule',
    { config: { scope: 'campaigns:write' }, schema: routeSchema('Remove the schedule', undefined, one) },
    async (request) => ({
      campaign: await viewOf(
        db,
        (await unscheduleCampaign(deps, Number(request.params.id), actorOf(request))).after,
      ),
    }),
  );

  app.post(
    '/campaigns/:id/cancel',
    {
      config: { scope: 'campaigns:write' },
      schema: routeSchema(
        'Cancel: the schedule goes, runs stop, every still-queued message ends skipped (campaign_cancelled)',
        ReasonBody,
        Type.Object({ campaign: CampaignView, skipped: Type.Integer() }),
      ),
    },
    async (request) => {
      const done = await cancelCampaign(
        deps,
        Number(request.params.id),
        actorOf(request),
        reasonOf(request.body as Static<typeof ReasonBody>),
      );
      return { campaign: await viewOf(db, done.after), skipped: done.skipped };
    },
  );

  app.post(
    '/campaigns/:id/run-now',
    {
      config: { scope: 'campaigns:write' },
      schema: routeSchema('Run the (approved) campaign once now', undefined, WithRun),
    },
    async (request) => {
      const done = await runCampaignNow(deps, Number(request.params.id), actorOf(request));
      return { campaign: await viewOf(db, done.after), run_id: done.runId };
    },
  );

  app.post(
    '/campaigns/:id/test-send',
    {
      config: { scope: 'campaigns:write' },
      schema: routeSchema(
        'Send the current version to the configured seed list only (allowed before approval; consent still applies)',
        undefined,
        Type.Object({ campaign: CampaignView, run_id: Type.Integer(), seeds: Type.Integer() }),
      ),
    },
    async (request) => {
      const done = await testSendCampaign(deps, Number(request.params.id), actorOf(request));
      return { campaign: await viewOf(db, done.after), run_id: done.runId, seeds: done.seeds };
    },
  );

  app.post(
    '/campaigns/:id/preview',
    {
      config: { scope: 'campaigns:write' },
      schema: routeSchema(
        'What a run would do now (funnel and sample matches), without creating anything',
        PreviewBody,
        Type.Object({
          funnel: Type.Unknown({
            description: 'considered, in_audience, selected, messages and excluded by channel',
          }),
          samples: Type.Array(
            Type.Object({
              client_number: Nullable(Type.String()),
              channels: Type.Array(Type.String()),
              match: Type.Unknown({ description: 'which offer matched and why' }),
            }),
          ),
        }),
      ),
    },
    async (request) => {
      const campaign = await loadCampaign(db, Number(request.params.id));
      const body = request.body as Static<typeof PreviewBody>;
      const preview = await previewCampaign(db, campaign, deps.config, {
        ...(body?.sample_size !== undefined ? { sampleSize: body.sample_size } : {}),
      });
      return preview;
    },
  );
}
