import { type Static, Type } from '@sinclair/typebox';
import { actorOf } from '../http/auth.js';
import type { HttpContext, TypedApp } from '../http/context.js';
import { ERROR_RESPONSES, IsoDateTime, Nullable } from '../http/schemas.js';
import { RecipientBody } from '../recipients/recipient-body.js';
import type { DsrRequestRow } from './dsr.repository.js';
import { listOpenDsrRequests, requireDsrRequest } from './dsr.repository.js';
import { DSR_KINDS, type DsrKind, isOverdue, RECEIVED_VIA, type ReceivedVia } from './dsr.rules.js';
import { type ExecutionResult, executeDsrRequest } from './execute.js';
import { EXPORT_FORMAT, EXPORT_SCHEMA_VERSION, EXPORT_SECTIONS } from './export.js';
import { createDsrRequest, recordDsrIdentityCheck, rejectDsrRequest } from './register.js';

const Kind = Type.Union(
  DSR_KINDS.map((k) => Type.Literal(k)),
  { description: 'N14: which right the person exercises' },
);
const ReceivedViaSchema = Type.Union(RECEIVED_VIA.map((v) => Type.Literal(v)));
const Iso = Type.String({ format: 'date-time' });

const RequestParams = Type.Object(
  { id: Type.String({ pattern: '^[0-9]{1,15}$', description: 'the request id' }) },
  { additionalProperties: false },
);

const RequestView = Type.Object({
  id: Type.Integer(),
  kind: Kind,
  client_number: Nullable(Type.String({ description: 'null once the person is erased' })),
  received_via: ReceivedViaSchema,
  received_at: Iso,
  due_at: Type.String({ format: 'date-time', description: 'received_at plus one calendar month (Riga)' }),
  overdue: Type.Boolean({ description: 'open and past its due date' }),
  status: Type.Union([
    Type.Literal('received'),
    Type.Literal('in_progress'),
    Type.Literal('completed'),
    Type.Literal('rejected'),
  ]),
  identity_checked_by: Nullable(Type.String()),
  identity_checked_at: Nullable(Iso),
  outcome: Nullable(Type.String()),
  handled_by: Nullable(Type.String()),
  completed_at: Nullable(Iso),
  created_at: Iso,
});
type RequestViewT = Static<typeof RequestView>;

const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString());

/** Timestamps as strings already: the execute response is a union, which the serializer matches as JSON. */
function view(row: DsrRequestRow, now = new Date()): RequestViewT {
  return {
    id: row.id,
    kind: row.kind,
    client_number: row.client_number,
    received_via: row.received_via,
    received_at: row.received_at.toISOString(),
    due_at: row.due_at.toISOString(),
    overdue: isOverdue(row, now),
    status: row.status,
    identity_checked_by: row.identity_checked_by,
    identity_checked_at: iso(row.identity_checked_at),
    outcome: row.outcome,
    handled_by: row.handled_by,
    completed_at: iso(row.completed_at),
    created_at: row.created_at.toISOString(),
  };
}

const Row = Type.Object({}, { additionalProperties: true, description: 'a row: column name → value' });

/** The export document (export.ts); rows keep their tables' column names. */
const ExportDocument = Type.Object(
  {
    format: Type.Literal(EXPORT_FORMAT),
    schema_version: Type.Literal(EXPORT_SCHEMA_VERSION),
    generated_at: Iso,
    controller: Row,
    profile: Row,
    ...Object.fromEntries(EXPORT_SECTIONS.map((s) => [s, Type.Array(Row)])),
  },
  { description: 'Everything held about the person (access, portability)' },
);

const ErasureCountsView = Type.Object({
  withdrawn: Type.Integer(),
  devices: Type.Integer(),
  messages: Type.Integer(),
  message_events: Type.Integer(),
  run_exclusions: Type.Integer(),
  list_memberships: Type.Integer(),
  idempotency_keys: Type.Integer(),
});

const ExecutionView = Type.Object({
  request: RequestView,
  result: Type.Object({
    kind: Kind,
    changed: Type.Optional(
      Type.Union([Type.Boolean(), Type.Array(Type.String())], {
        description: 'rectify: the names of the fields that changed; markers: whether the state changed',
      }),
    ),
    withdrawn: Type.Optional(Type.Integer({ description: 'consents withdrawn by the objection' })),
    erased: Type.Optional(ErasureCountsView),
  }),
});

function executionView(row: DsrRequestRow, result: Exclude<ExecutionResult, { document: unknown }>) {
  return { request: view(row), result };
}

export function registerDsrRoutes(app: TypedApp, ctx: HttpContext): void {
  const { db, config } = ctx.deps;

  app.post(
    '/dsr/requests',
    {
      config: { scope: 'dsr' },
      schema: {
        summary: 'Register a data-subject request (N14); it is due one calendar month after receipt',
        tags: ['data-subject rights'],
        body: Type.Object(
          {
            client_number: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }),
            kind: Kind,
            received_via: ReceivedViaSchema,
            received_at: Type.Optional(IsoDateTime),
          },
          { additionalProperties: false },
        ),
        response: { 201: RequestView, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const row = await createDsrRequest(db, config.pseudonymSecret, {
        actor: actorOf(request),
        requestId: request.id,
        clientNumber: body.client_number,
        kind: body.kind as DsrKind,
        receivedVia: body.received_via as ReceivedVia,
        ...(body.received_at !== undefined ? { receivedAt: new Date(body.received_at) } : {}),
        receivedAtField: 'body/received_at',
      });
      return reply.code(201).send(view(row));
    },
  );

  app.get(
    '/dsr/requests',
    {
      config: { scope: 'dsr' },
      schema: {
        summary: 'Open requests, the earliest due first; overdue ones are flagged',
        tags: ['data-subject rights'],
        querystring: Type.Object(
          {
            limit: Type.Optional(
              Type.String({ pattern: '^(?:[1-9][0-9]{0,2}|1000)$', description: '1-1000, default 100' }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ requests: Type.Array(RequestView) }), ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const now = new Date();
      const rows = await listOpenDsrRequests(db, Number(request.query.limit ?? '100'));
      return { requests: rows.map((r) => view(r, now)) };
    },
  );

  app.get(
    '/dsr/requests/:id',
    {
      config: { scope: 'dsr' },
      schema: {
        tags: ['data-subject rights'],
        params: RequestParams,
        response: { 200: RequestView, ...ERROR_RESPONSES },
      },
    },
    async (request) => view(await requireDsrRequest(db, Number(request.params.id))),
  );

  app.post(
    '/dsr/requests/:id/identity-check',
    {
      config: { scope: 'dsr' },
      schema: {
        summary: "Record who checked the requester's identity, and when; the request is then in progress",
        tags: ['data-subject rights'],
        params: RequestParams,
        body: Type.Object(
          {
            checked_by: Type.String({
              minLength: 1,
              maxLength: 200,
              description: 'the staff member who checked',
            }),
            checked_at: Type.Optional(IsoDateTime),
          },
          { additionalProperties: false },
        ),
        response: { 200: RequestView, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const body = request.body;
      const row = await recordDsrIdentityCheck(db, {
        actor: actorOf(request),
        requestId: request.id,
        dsrRequestId: Number(request.params.id),
        checkedBy: body.checked_by,
        ...(body.checked_at !== undefined ? { checkedAt: new Date(body.checked_at) } : {}),
        checkedAtField: 'body/checked_at',
      });
      return view(row);
    },
  );

  app.post(
    '/dsr/requests/:id/execute',
    {
      config: { scope: 'dsr' },
      schema: {
        summary: "Perform the request's operation and complete it (409 until the identity check is recorded)",
        description:
          'access/portability: the response is the export document. rectify: `fields` carries the corrected fields. erase: deletes everything but the identifier-free consent evidence, the tombstone and the audit log. Every execution is audited.',
        tags: ['data-subject rights'],
        params: RequestParams,
        body: Type.Object(
          {
            reason: Type.Optional(
              Type.String({
                minLength: 1,
                maxLength: 2000,
                description: 'for the audit log; no personal data',
              }),
            ),
            fields: Type.Optional(RecipientBody),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Union([ExecutionView, ExportDocument]), ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const body = request.body;
      const { request: row, result } = await executeDsrRequest(
        db,
        { pseudonymSecret: config.pseudonymSecret, controller: config.controller },
        {
          actor: actorOf(request),
          requestId: request.id,
          dsrRequestId: Number(request.params.id),
          ...(body.reason !== undefined ? { reason: body.reason } : {}),
          ...(body.fields !== undefined ? { fields: body.fields } : {}),
          fieldsPath: 'body/fields',
        },
      );
      if ('document' in result) return result.document;
      return executionView(row, result);
    },
  );

  app.post(
    '/dsr/requests/:id/reject',
    {
      config: { scope: 'dsr' },
      schema: {
        summary: 'Close an open request without acting on it, with the reason',
        tags: ['data-subject rights'],
        params: RequestParams,
        body: Type.Object(
          {
            reason: Type.String({
              minLength: 1,
              maxLength: 2000,
              description: 'kept as the outcome; no personal data',
            }),
          },
          { additionalProperties: false },
        ),
        response: { 200: RequestView, ...ERROR_RESPONSES },
      },
    },
    async (request) =>
      view(
        await rejectDsrRequest(db, {
          actor: actorOf(request),
          requestId: request.id,
          dsrRequestId: Number(request.params.id),
          reason: request.body.reason,
        }),
      ),
  );
}
