import { type TSchema, Type } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import { audit } from '../audit/audit.js';
import { actorOf } from '../http/auth.js';
import type { HttpContext, TypedApp } from '../http/context.js';
import { Channel, ERROR_RESPONSES, Nullable, Timestamp } from '../http/schemas.js';
import { explainPerson } from './explain.js';
import {
  campaignReport,
  EXCLUSION_REASONS,
  MESSAGE_COUNTERS,
  type Report,
  runReport,
  SKIP_REASONS,
} from './report.js';
import { reportToCsv } from './report-csv.js';

const DIGITS = '^[0-9]{1,15}$';
const IdParams = Type.Object(
  { id: Type.String({ pattern: DIGITS, description: 'the id' }) },
  { additionalProperties: false },
);

const counts = (keys: readonly string[]) =>
  Type.Object(Object.fromEntries(keys.map((k) => [k, Type.Integer({ minimum: 0 })])), {
    additionalProperties: false,
  });

const ReportRowView = Type.Object({
  breakdown: Type.Union([Type.Literal('total'), Type.Literal('channel'), Type.Literal('offer')]),
  channel: Type.Union([Type.Literal('all'), Channel]),
  offer_id: Nullable(Type.Integer()),
  offer_key: Nullable(Type.String()),
  ...Object.fromEntries(MESSAGE_COUNTERS.map((c) => [c, Type.Integer({ minimum: 0 })])),
  skipped_by_reason: counts(SKIP_REASONS),
  excluded: Nullable(
    Type.Integer({ minimum: 0, description: 'null on offer rows: exclusions precede offers' }),
  ),
  excluded_by_reason: Nullable(counts(EXCLUSION_REASONS)),
});

const ReportView = Type.Object(
  {
    scope: Type.Union([Type.Literal('run'), Type.Literal('campaign')]),
    campaign: Type.Object({ id: Type.Integer(), name: Type.String(), purpose: Type.String() }),
    runs: Type.Array(
      Type.Object({
        id: Type.Integer(),
        trigger: Type.String(),
        status: Type.String(),
        created_at: Timestamp,
        started_at: Nullable(Timestamp),
        finished_at: Nullable(Timestamp),
      }),
    ),
    generated_at: Timestamp,
    audience: Type.Object({
      considered: Type.Integer({ description: "people scanned (from the runs' funnels)" }),
      in_audience: Type.Integer({
        description: "of them matched by the audience rule (from the runs' funnels)",
      }),
    }),
    rows: Type.Array(ReportRowView),
    holds: Type.Object(
      {
        stops: Type.Array(
          Type.Object({
            scope: Type.String({ description: "'all' or a channel" }),
            stopped_at: Timestamp,
            stopped_by: Type.String(),
            reason: Nullable(Type.String()),
          }),
          { description: 'open emergency stops: no claim of their channels succeeds while open' },
        ),
        expired_leases: Type.Object(
          {
            messages: Type.Integer(),
            since: Nullable(Timestamp),
          },
          {
            description:
              'messages still `sending` whose worker stopped renewing its lease, and when the oldest lease ran out: the reconciler settles them (indeterminate if the provider call had started, else sent again)',
          },
        ),
      },
      { description: 'what holds the messages of this scope back now' },
    ),
  },
  { description: 'N8: aggregates only — no row identifies a person. See docs/reports.md.' },
);

const ReportQuery = Type.Object(
  {
    format: Type.Optional(
      Type.Union([Type.Literal('json'), Type.Literal('csv')], {
        description: 'overrides the Accept header; CSV is RFC 4180 with a header row',
      }),
    ),
  },
  { additionalProperties: false },
);

const reportResponses = {
  200: {
    description: 'the report, as JSON or as CSV (`?format=csv` or `Accept: text/csv`)',
    content: { 'application/json': { schema: ReportView }, 'text/csv': { schema: Type.String() } },
  },
  ...ERROR_RESPONSES,
};

function wantsCsv(format: string | undefined, accept: string | undefined): boolean {
  if (format !== undefined) return format === 'csv';
  return accept !== undefined && /(^|,)\s*text\/csv\b/i.test(accept);
}

function sendReport(reply: FastifyReply, report: Report, csv: boolean, name: string) {
  if (!csv) return reply.type('application/json; charset=utf-8').send(report);
  return reply
    .type('text/csv; charset=utf-8; header=present')
    .header('content-disposition', `attachment; filename="${name}.csv"`)
    .send(reportToCsv(report));
}

const MessageViewSchema = Type.Object({
  id: Type.Integer(),
  status: Type.String(),
  skip_reason: Nullable(Type.String()),
  resolution: Nullable(Type.String()),
  resolved_by: Nullable(Type.String()),
  offer_id: Type.Integer(),
  attempts: Type.Integer(),
  error_code: Nullable(Type.String()),
  not_before: Nullable(Timestamp),
  created_at: Timestamp,
  claimed_at: Nullable(Timestamp),
  sent_at: Nullable(Timestamp),
  finished_at: Nullable(Timestamp),
  events: Type.Array(Type.Object({ type: Type.String(), occurred_at: Timestamp })),
});
const Json: TSchema = Type.Unsafe<unknown>({ description: 'JSON as stored' });
const Match = Type.Object(
  {
    offer_id: Type.Integer(),
    offer_key: Type.String(),
    priority: Type.Integer(),
    mode: Type.String(),
    rule: Type.String({
      description: '`eligibility`: the offer’s eligibility rule matched; `none`: it has none',
    }),
    personalised: Type.Boolean(),
    non_personalised_only: Type.Boolean({ description: 'N9: the person objected to profiling' }),
  },
  { additionalProperties: true },
);
const ChannelView = Type.Object({
  channel: Channel,
  outcome: Type.Union(
    [
      'selected',
      'excluded',
      'not_chosen',
      'not_in_audience',
      'not_registered',
      'not_reached',
      'records_erased',
    ].map((o) => Type.Literal(o)),
  ),
  reason: Nullable(Type.Union(EXCLUSION_REASONS.map((r) => Type.Literal(r)))),
  since: Nullable(Timestamp),
  text: Type.String(),
  detail: Type.Object({}, { additionalProperties: true }),
  match: Nullable(Match),
  message: Nullable(MessageViewSchema),
});
const RunView = Type.Object({
  run_id: Nullable(Type.Integer({ description: 'null for an evaluation now' })),
  trigger: Type.String(),
  status: Type.String(),
  evaluated_at: Timestamp,
  selected: Type.Boolean(),
  channels: Type.Array(ChannelView),
});
const ExplanationView = Type.Object({
  campaign: Type.Object({
    id: Type.Integer(),
    name: Type.String(),
    purpose: Type.String(),
    status: Type.String(),
    audience: Json,
  }),
  person: Type.Object({
    recipient_id: Type.Integer(),
    erased: Type.Boolean(),
    profiling_objected_at: Nullable(Timestamp),
  }),
  runs: Type.Array(RunView),
  now: Nullable(RunView),
});

/**
 * Reports (N8) and explain (N8, N9). The operator's resolution of indeterminate messages, one feature
 * with them, is registered right after (messages.routes.ts).
 */
export function registerReportRoutes(app: TypedApp, ctx: HttpContext): void {
  const { db, config } = ctx.deps;

  // The two reports differ only in what they cover: every run of a campaign, or one run.
  const reportRoute = (
    path: '/campaigns/:id/report' | '/runs/:id/report',
    summary: string,
    load: (id: number) => ReturnType<typeof runReport>,
    fileName: (id: number) => string,
  ) =>
    app.get(
      path,
      {
        config: { scope: 'reports:read' },
        schema: {
          summary,
          tags: ['reports'],
          params: IdParams,
          querystring: ReportQuery,
          produces: ['application/json', 'text/csv'],
          response: reportResponses,
        },
      },
      async (request, reply) => {
        const report = await load(Number(request.params.id));
        const csv = wantsCsv(request.query.format, request.headers.accept);
        return sendReport(reply, report, csv, fileName(Number(request.params.id)));
      },
    );
  reportRoute(
    '/campaigns/:id/report',
    'What every run of a campaign did, by channel and offer (N8)',
    (id) => campaignReport(db, id),
    (id) => `campaign-${id}-report`,
  );
  reportRoute(
    '/runs/:id/report',
    'What one campaign run did, by channel and offer (N8)',
    (id) => runReport(db, id),
    (id) => `run-${id}-report`,
  );

  app.get(
    '/campaigns/:id/explain/:clientNumber',
    {
      config: { scope: 'dsr' },
      schema: {
        summary: 'Why a person was or was not selected by each run of a campaign, and what happened (N8, N9)',
        description:
          "A read of one person's data: it needs the `dsr` scope and a reason, and is recorded in the audit log (`campaign.explain`). A campaign without runs is evaluated now.",
        tags: ['reports'],
        params: Type.Object(
          {
            id: Type.String({ pattern: DIGITS, description: 'the campaign id' }),
            clientNumber: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }),
          },
          { additionalProperties: false },
        ),
        querystring: Type.Object(
          {
            reason: Type.String({
              minLength: 3,
              maxLength: 500,
              description: 'why this person is looked up (recorded in the audit log)',
            }),
            run: Type.Optional(
              Type.String({ pattern: DIGITS, description: 'only this run of the campaign' }),
            ),
            now: Type.Optional(
              Type.Union([Type.Literal('true'), Type.Literal('false')], {
                description: 'also evaluate the campaign now (default: only when it has no runs)',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 200: ExplanationView, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const q = request.query;
      const explanation = await explainPerson(db, config, {
        campaignId: Number(request.params.id),
        clientNumber: request.params.clientNumber,
        ...(q.run !== undefined ? { runId: Number(q.run) } : {}),
        ...(q.now !== undefined ? { evaluateNow: q.now === 'true' } : {}),
      });
      await audit(db, {
        actor: actorOf(request),
        action: 'campaign.explain',
        subjectType: 'recipient',
        subjectId: explanation.person.recipient_id,
        recipientId: explanation.person.recipient_id,
        requestId: request.id,
        reason: q.reason,
        details: {
          campaign_id: explanation.campaign.id,
          runs: explanation.runs.map((r) => r.run_id ?? 0),
          evaluated_now: explanation.now !== null,
        },
      });
      return explanation;
    },
  );
}
