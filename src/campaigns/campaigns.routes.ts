import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { NotFoundError } from '../errors/not-found-error.js';
import { ValidationError } from '../errors/validation-error.js';
import { actorOf } from '../http/auth.js';
import type { HttpContext, TypedApp } from '../http/context.js';
import { Channel, ERROR_RESPONSES, Nullable, Purpose } from '../http/schemas.js';
import { type CampaignInput, parseCampaign } from './campaign.js';
import { CampaignStatusSchema, CampaignView, campaignViewOf, campaignViews } from './campaign-view.js';
import {
  type CampaignRow,
  createCampaign,
  findCampaignRow,
  listCampaignRows,
  loadCampaign,
} from './campaigns.repository.js';
import {
  approveCampaign,
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
import { parseSchedule } from './schedule.js';

/**
 * The campaigns API (docs/campaign-lifecycle.md), in three chapters: the definition (create, list,
 * read, edit), the lifecycle (four-eyes approval, schedule, pause, cancel) and runs (run now, test
 * send, preview). The order of registration is the order of the OpenAPI document.
 */
export function registerCampaignRoutes(app: TypedApp, ctx: HttpContext): void {
  registerDefinitionRoutes(app, ctx);
  registerLifecycleRoutes(app, ctx);
  registerRunRoutes(app, ctx);
}

const IdParams = Type.Object(
  { id: Type.String({ pattern: '^[0-9]{1,15}$', description: 'the campaign id' }) },
  { additionalProperties: false },
);

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

const One = Type.Object({ campaign: CampaignView });
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

const reasonOf = (body: { reason?: string } | null | undefined) => body?.reason;

/** Create, list, read and edit (a new version) the definition. */
function registerDefinitionRoutes(app: TypedApp, ctx: HttpContext): void {
  const { deps } = ctx;
  const { db } = deps;

  app.post(
    '/campaigns',
    {
      config: { scope: 'campaigns:write' },
      schema: {
        summary: 'Create a campaign (a draft, version 1)',
        tags: ['campaigns'],
        body: CreateBody,
        response: { 201: One, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const parsed = parseCampaign(request.body as CampaignInput, deps.config.policy);
      if (!parsed.ok)
        throw new ValidationError(parsed.problems.map((p) => ({ ...p, field: `body/${p.field}` })));
      const stored = await inBody(() => createCampaign(db, parsed.value, actorOf(request)));
      const row = await findCampaignRow(db, stored.id);
      if (!row) throw new NotFoundError('campaign');
      return reply.code(201).send({ campaign: await campaignViewOf(db, row) });
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
            status: Type.Optional(CampaignStatusSchema),
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
      const rows = await listCampaignRows(db, {
        ...(q.status !== undefined ? { status: q.status } : {}),
        ...(q.after !== undefined ? { after: Number(q.after) } : {}),
        limit,
      });
      return { campaigns: await campaignViews(db, rows) };
    },
  );

  app.get(
    '/campaigns/:id',
    {
      config: { scope: 'campaigns:write' },
      schema: routeSchema('A campaign with its status, version, approval and schedule', undefined, One),
    },
    async (request) => {
      const row = await findCampaignRow(db, Number(request.params.id));
      if (!row) throw new NotFoundError('campaign');
      return { campaign: await campaignViewOf(db, row) };
    },
  );

  app.patch(
    '/campaigns/:id',
    {
      config: { scope: 'campaigns:write' },
      schema: routeSchema(
        'Edit the definition: a new version; an approved or scheduled campaign returns to draft (approval is of a version)',
        PatchBody,
        One,
      ),
    },
    async (request) => {
      const { version, ...input } = request.body as CampaignInput & { version?: number };
      const changed = await inBody(() =>
        editCampaign(deps, Number(request.params.id), input, actorOf(request), version),
      );
      return { campaign: await campaignViewOf(db, changed.after) };
    },
  );
}

/**
 * Four-eyes approval, the schedule, pause and resume, cancel: each a transition of the lifecycle table
 * (lifecycle.ts), answered with the campaign as it is after it.
 */
function registerLifecycleRoutes(app: TypedApp, ctx: HttpContext): void {
  const { deps } = ctx;
  const { db } = deps;

  const transition = (
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
      { config: { scope }, schema: routeSchema(summary, body, One) },
      async (request) => ({
        campaign: await campaignViewOf(db, (await act(Number(request.params.id), request)).after),
      }),
    );

  transition(
    'submit',
    'Ask for approval of the current version (four eyes)',
    'campaigns:write',
    ReasonBody,
    (id, r) => submitCampaign(deps, id, actorOf(r), reasonOf(r.body as Static<typeof ReasonBody>)),
  );
  transition(
    'approve',
    'Approve the submitted version: by someone other than its creator, last editor and submitter',
    'campaigns:approve',
    ApproveBody,
    (id, r) => approveCampaign(deps, id, actorOf(r), (r.body as Static<typeof ApproveBody>) ?? {}),
  );
  transition(
    'reject',
    'Send the submitted version back to draft, with a reason',
    'campaigns:approve',
    RejectBody,
    (id, r) => rejectCampaign(deps, id, actorOf(r), (r.body as Static<typeof RejectBody>).reason),
  );
  transition(
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
  transition(
    'pause',
    'Hold sending: queued messages wait, scheduled ticks are skipped',
    'campaigns:write',
    ReasonBody,
    (id, r) => pauseCampaign(deps, id, actorOf(r), reasonOf(r.body as Static<typeof ReasonBody>)),
  );
  transition('resume', 'Continue a paused campaign', 'campaigns:write', ReasonBody, (id, r) =>
    resumeCampaign(deps, id, actorOf(r), reasonOf(r.body as Static<typeof ReasonBody>)),
  );

  app.delete(
    '/campaigns/:id/schedule',
    { config: { scope: 'campaigns:write' }, schema: routeSchema('Remove the schedule', undefined, One) },
    async (request) => ({
      campaign: await campaignViewOf(
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
      return { campaign: await campaignViewOf(db, done.after), skipped: done.skipped };
    },
  );
}

/** A run now, a test send to the seed list, and a preview of what a run would do. */
function registerRunRoutes(app: TypedApp, ctx: HttpContext): void {
  const { deps } = ctx;
  const { db } = deps;

  app.post(
    '/campaigns/:id/run-now',
    {
      config: { scope: 'campaigns:write' },
      schema: routeSchema('Run the (approved) campaign once now', undefined, WithRun),
    },
    async (request) => {
      const done = await runCampaignNow(deps, Number(request.params.id), actorOf(request));
      return { campaign: await campaignViewOf(db, done.after), run_id: done.runId };
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
      return { campaign: await campaignViewOf(db, done.after), run_id: done.runId, seeds: done.seeds };
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
