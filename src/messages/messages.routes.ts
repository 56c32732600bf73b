import { Type } from '@sinclair/typebox';
import { actorOf } from '../http/auth.js';
import type { HttpContext, TypedApp } from '../http/context.js';
import { Channel, ERROR_RESPONSES, Nullable, Purpose, Timestamp } from '../http/schemas.js';
import { listMessages, MESSAGE_STATUSES, type MessageStatus, resolveIndeterminate } from './resolve.js';

const DIGITS = '^[0-9]{1,15}$';

const MessageMeta = Type.Object(
  {
    id: Type.Integer(),
    campaign_id: Type.Integer(),
    run_id: Type.Integer(),
    channel: Channel,
    purpose: Purpose,
    offer_id: Type.Integer(),
    status: Type.String(),
    skip_reason: Nullable(Type.String()),
    attempts: Type.Integer(),
    error_code: Nullable(Type.String()),
    provider_message_id: Nullable(
      Type.String({ description: "the provider's id, to look the message up there" }),
    ),
    resolution: Nullable(Type.String()),
    resolved_by: Nullable(Type.String()),
    created_at: Timestamp,
    claimed_at: Nullable(Timestamp),
    finished_at: Nullable(Timestamp),
  },
  { description: 'ids and metadata only: no person, no content' },
);

/** The operator's list of messages by status, and the resolution of indeterminate ones (scope `ops`). */
export function registerMessageRoutes(app: TypedApp, ctx: HttpContext): void {
  const { db } = ctx.deps;

  app.get(
    '/messages',
    {
      config: { scope: 'ops' },
      schema: {
        summary:
          'Messages by status (default: indeterminate ones waiting for an operator); keyset-paged by id',
        tags: ['messages'],
        querystring: Type.Object(
          {
            status: Type.Optional(
              Type.Union(
                MESSAGE_STATUSES.map((s) => Type.Literal(s)),
                { description: 'default indeterminate' },
              ),
            ),
            campaign: Type.Optional(Type.String({ pattern: DIGITS, description: 'a campaign id' })),
            run: Type.Optional(Type.String({ pattern: DIGITS, description: 'a run id' })),
            resolved: Type.Optional(
              Type.Union([Type.Literal('true'), Type.Literal('false')], {
                description: 'indeterminate only: resolved ones, or those still open (default: both)',
              }),
            ),
            after: Type.Optional(
              Type.String({ pattern: DIGITS, description: 'keyset: messages after this id' }),
            ),
            limit: Type.Optional(
              Type.String({ pattern: '^(?:[1-9][0-9]{0,2}|1000)$', description: '1-1000, default 100' }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            messages: Type.Array(MessageMeta),
            next_after: Nullable(Type.Integer({ description: 'pass as `after` for the next page' })),
          }),
          ...ERROR_RESPONSES,
        },
      },
    },
    async (request) => {
      const q = request.query;
      const limit = Number(q.limit ?? '100');
      const messages = await listMessages(db, {
        status: (q.status ?? 'indeterminate') as MessageStatus,
        ...(q.campaign !== undefined ? { campaignId: Number(q.campaign) } : {}),
        ...(q.run !== undefined ? { runId: Number(q.run) } : {}),
        ...(q.resolved !== undefined ? { resolved: q.resolved === 'true' } : {}),
        ...(q.after !== undefined ? { after: Number(q.after) } : {}),
        limit,
      });
      const last = messages.at(-1);
      return { messages, next_after: messages.length === limit && last ? last.id : null };
    },
  );

  app.post(
    '/messages/:id/resolve',
    {
      config: { scope: 'ops' },
      schema: {
        summary: 'Resolve an indeterminate message as sent or not sent, after checking with the provider',
        description:
          'Only an unresolved `indeterminate` message (409 otherwise). Never sends anything. Audited (`message.resolve`) with the reason; reports count `sent` resolutions as sent.',
        tags: ['messages'],
        params: Type.Object(
          { id: Type.String({ pattern: DIGITS, description: 'the message id' }) },
          { additionalProperties: false },
        ),
        body: Type.Object(
          {
            outcome: Type.Union([Type.Literal('sent'), Type.Literal('not_sent')]),
            reason: Type.String({ minLength: 3, maxLength: 500, description: 'what the operator checked' }),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            id: Type.Integer(),
            campaign_id: Type.Integer(),
            run_id: Type.Integer(),
            channel: Channel,
            status: Type.String(),
            resolution: Type.Union([Type.Literal('sent'), Type.Literal('not_sent')]),
            resolved_by: Type.String(),
          }),
          ...ERROR_RESPONSES,
        },
      },
    },
    async (request) =>
      resolveIndeterminate(db, {
        messageId: Number(request.params.id),
        outcome: request.body.outcome,
        reason: request.body.reason.trim(),
        actor: actorOf(request),
        requestId: request.id,
      }),
  );
}
