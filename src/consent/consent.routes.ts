import { Type } from '@sinclair/typebox';
import { audit } from '../audit/audit.js';
import type { Db } from '../db/database.js';
import type { JsonValue } from '../db/schema.js';
import type { Channel as ChannelT, ConsentSource, Purpose as PurposeT } from '../domain/vocabulary.js';
import { actorOf } from '../http/auth.js';
import type { HttpContext, TypedApp } from '../http/context.js';
import {
  Channel,
  ClientNumberParams,
  ERROR_RESPONSES,
  IsoDateTime,
  Nullable,
  Purpose,
  Timestamp,
} from '../http/schemas.js';
import { requestHash, withIdempotency } from '../idempotency/idempotency.js';
import { requireRecipient } from '../recipients/recipients.repository.js';
import {
  consentHistory,
  currentConsents,
  endAllGrants,
  type RecordedChange,
  recordConsentChanges,
} from './ledger.js';
import { NoticeCache } from './notice-cache.js';

const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.String({
    minLength: 8,
    maxLength: 200,
    description:
      'Unique per logical request; a retry with the same key records nothing new and returns the same answer',
  }),
});

/** Sources a client may claim over the API; unsubscribe links, SMS keywords and imports have their own doors. */
const ApiSource = Type.Union([
  Type.Literal('app'),
  Type.Literal('web'),
  Type.Literal('api'),
  Type.Literal('operator'),
]);

const ConsentStateView = Type.Object({
  purpose: Purpose,
  channel: Channel,
  status: Type.Union([Type.Literal('granted'), Type.Literal('withdrawn'), Type.Literal('lapsed')]),
  source: Type.String(),
  occurred_at: Timestamp,
  /** When the deciding change took effect: the earlier of occurred_at and when the server recorded it. */
  effective_at: Timestamp,
  notice_version: Nullable(Type.String()),
});

const RecordedView = Type.Object({
  event_id: Type.Integer(),
  purpose: Purpose,
  channel: Channel,
  action: Type.String(),
  occurred_at: Timestamp,
  /** When the change takes effect: the earlier of occurred_at and when the server recorded it. */
  effective_at: Timestamp,
  applied: Type.Boolean({
    description: 'false when a change taking effect later already decided the state (recorded, no effect)',
  }),
});

const ChangeResult = Type.Object({
  events: Type.Array(RecordedView),
  consents: Type.Array(ConsentStateView),
});

async function stateView(db: Db, recipientId: number): Promise<JsonValue[]> {
  return (await currentConsents(db, recipientId)).map((c) => ({
    purpose: c.purpose,
    channel: c.channel,
    status: c.status,
    source: c.source,
    occurred_at: c.occurred_at.toISOString(),
    effective_at: c.effective_at.toISOString(),
    notice_version: c.notice_version,
  }));
}

function recordedView(changes: readonly RecordedChange[]): JsonValue[] {
  return changes.map((c) => ({
    event_id: c.eventId,
    purpose: c.purpose,
    channel: c.channel,
    action: c.action,
    occurred_at: c.occurredAt.toISOString(),
    effective_at: c.effectiveAt.toISOString(),
    applied: c.applied,
  }));
}

export function registerConsentRoutes(app: TypedApp, ctx: HttpContext): void {
  const { db, config } = ctx.deps;
  const notices = new NoticeCache();

  app.get(
    '/recipients/:clientNumber/consents',
    {
      config: { scope: 'consents:read' },
      schema: {
        summary: 'Current consent per purpose and channel (absent means no consent, N1)',
        tags: ['consents'],
        params: ClientNumberParams,
        response: { 200: Type.Object({ consents: Type.Array(ConsentStateView) }), ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const person = await requireRecipient(db, request.params.clientNumber);
      return { consents: await currentConsents(db, person.id) };
    },
  );

  app.get(
    '/recipients/:clientNumber/consents/history',
    {
      config: { scope: 'consents:read' },
      schema: {
        summary: 'The consent ledger of the person: every grant, withdrawal and lapse as recorded (N11)',
        tags: ['consents'],
        params: ClientNumberParams,
        response: {
          200: Type.Object({
            events: Type.Array(
              Type.Object({
                id: Type.Integer(),
                purpose: Purpose,
                channel: Channel,
                action: Type.String(),
                source: Type.String(),
                notice_version: Nullable(Type.String()),
                notice_sha256: Nullable(Type.String()),
                request_id: Nullable(Type.String()),
                reason: Nullable(Type.String()),
                occurred_at: Timestamp,
                recorded_at: Timestamp,
                effective_at: Timestamp,
                retain_until: Nullable(Timestamp),
              }),
            ),
          }),
          ...ERROR_RESPONSES,
        },
      },
    },
    async (request) => {
      const person = await requireRecipient(db, request.params.clientNumber);
      return { events: await consentHistory(db, person.id) };
    },
  );

  app.post(
    '/recipients/:clientNumber/consents',
    {
      config: { scope: 'consents:write' },
      schema: {
        summary: 'Grant or withdraw consent per purpose and channel (N1, N3, N4, N12, N13)',
        description:
          'Each change is appended to the ledger with its evidence. A change takes effect at the earlier of its occurred_at and when the server records it (an occurred_at ahead of the server counts from the recording); a change taking effect before the current state is recorded but does not override it; on equal times a withdrawal wins. Grants must name the notice version shown.',
        tags: ['consents'],
        params: ClientNumberParams,
        headers: IdempotencyHeaders,
        body: Type.Object(
          {
            source: ApiSource,
            notice_version: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9._-]{1,32}$' })),
            changes: Type.Array(
              Type.Object(
                {
                  purpose: Purpose,
                  channel: Channel,
                  action: Type.Union([Type.Literal('grant'), Type.Literal('withdraw')]),
                  occurred_at: Type.Optional(IsoDateTime),
                },
                { additionalProperties: false },
              ),
              { minItems: 1, maxItems: 12 },
            ),
            evidence: Type.Optional(
              Type.Object(
                {
                  ip: Type.Optional(
                    Type.String({
                      maxLength: 64,
                      description: "the person's IP as seen by the app backend; hashed",
                    }),
                  ),
                  user_agent: Type.Optional(Type.String({ maxLength: 1000, description: 'hashed' })),
                },
                { additionalProperties: false },
              ),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 200: ChangeResult, 201: ChangeResult, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const person = await requireRecipient(db, request.params.clientNumber);
      const actor = actorOf(request);
      const body = request.body;
      const result = await withIdempotency(
        db,
        `consents:${actor.id}:${person.id}`,
        request.headers['idempotency-key'],
        requestHash(body as unknown as JsonValue),
        async (trx) => {
          const recorded = await recordConsentChanges(trx, config.pseudonymSecret, {
            recipientId: person.id,
            changes: body.changes.map((c) => ({
              purpose: c.purpose as PurposeT,
              channel: c.channel as ChannelT,
              action: c.action,
              // absent: now, by the database's clock
              ...(c.occurred_at === undefined ? {} : { occurredAt: new Date(c.occurred_at) }),
            })),
            source: body.source as ConsentSource,
            actor,
            notices,
            ...(body.notice_version !== undefined ? { noticeVersion: body.notice_version } : {}),
            evidence: {
              requestId: request.id,
              ip: body.evidence?.ip ?? request.ip,
              ...(body.evidence?.user_agent !== undefined
                ? { userAgent: body.evidence.user_agent }
                : request.headers['user-agent'] !== undefined
                  ? { userAgent: request.headers['user-agent'] }
                  : {}),
            },
          });
          await audit(trx, {
            actor,
            action: 'consent.change',
            subjectType: 'recipient',
            subjectId: person.id,
            recipientId: person.id,
            requestId: request.id,
            details: {
              events: recorded.map(
                (r) => `${r.action}:${r.purpose}:${r.channel}${r.applied ? '' : ':superseded'}`,
              ),
            },
          });
          return {
            status: 201,
            body: { events: recordedView(recorded), consents: await stateView(trx, person.id) },
          };
        },
      );
      if (result.replayed) reply.header('idempotent-replayed', 'true');
      return reply.code(result.status as 200 | 201).send(result.body as never);
    },
  );

  app.post(
    '/recipients/:clientNumber/lapses',
    {
      config: { scope: 'consents:write' },
      schema: {
        summary:
          'Record that consents lost relevance (e.g. the customer relationship closed); starts the 5-year retention clock (N11)',
        tags: ['consents'],
        params: ClientNumberParams,
        headers: IdempotencyHeaders,
        body: Type.Object(
          {
            reason: Type.String({
              pattern: '^[a-z_]{1,64}$',
              description: 'a reason code, e.g. relationship_closed',
            }),
            occurred_at: Type.Optional(IsoDateTime),
            purposes: Type.Optional(Type.Array(Purpose, { minItems: 1, uniqueItems: true })),
            channels: Type.Optional(Type.Array(Channel, { minItems: 1, uniqueItems: true })),
          },
          { additionalProperties: false },
        ),
        response: { 200: ChangeResult, 201: ChangeResult, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const person = await requireRecipient(db, request.params.clientNumber);
      const actor = actorOf(request);
      const body = request.body;
      const result = await withIdempotency(
        db,
        `lapses:${actor.id}:${person.id}`,
        request.headers['idempotency-key'],
        requestHash(body as unknown as JsonValue),
        async (trx) => {
          const recorded = await endAllGrants(trx, config.pseudonymSecret, {
            recipientId: person.id,
            action: 'lapse',
            ...(body.occurred_at === undefined ? {} : { occurredAt: new Date(body.occurred_at) }),
            ...(body.purposes ? { purposes: body.purposes as PurposeT[] } : {}),
            ...(body.channels ? { channels: body.channels as ChannelT[] } : {}),
            source: 'api',
            actor,
            evidence: { requestId: request.id },
            reason: body.reason,
          });
          await audit(trx, {
            actor,
            action: 'consent.lapse',
            subjectType: 'recipient',
            subjectId: person.id,
            recipientId: person.id,
            requestId: request.id,
            reason: body.reason,
            details: { lapsed: recorded.length },
          });
          return {
            status: 201,
            body: { events: recordedView(recorded), consents: await stateView(trx, person.id) },
          };
        },
      );
      if (result.replayed) reply.header('idempotent-replayed', 'true');
      return reply.code(result.status as 200 | 201).send(result.body as never);
    },
  );
}
