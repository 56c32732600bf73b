import { Type } from '@sinclair/typebox';
import { ValidationError } from '../errors/validation-error.js';
import { actorOf } from '../http/auth.js';
import type { HttpContext, TypedApp } from '../http/context.js';
import { ERROR_RESPONSES, IsoDateTime } from '../http/schemas.js';
import { recordBounce } from './bounces.js';

export const BounceBody = Type.Object(
  {
    type: Type.Union([Type.Literal('hard_bounce'), Type.Literal('soft_bounce'), Type.Literal('complaint')]),
    message_id: Type.Optional(Type.Integer({ minimum: 1 })),
    email: Type.Optional(Type.String({ minLength: 3, maxLength: 320, format: 'email' })),
    occurred_at: Type.Optional(IsoDateTime),
  },
  { additionalProperties: false },
);

const BounceResult = Type.Object({
  suppressed: Type.Boolean({ description: 'the address is (now) suppressed' }),
  withdrawn: Type.Integer({ description: 'e-mail consents withdrawn (complaints)' }),
  event_recorded: Type.Boolean({ description: 'a message event bounced/complained was written' }),
  recipient_found: Type.Boolean(),
});

export function registerBounceRoutes(app: TypedApp, ctx: HttpContext): void {
  const { db, config } = ctx.deps;

  app.post(
    '/webhooks/bounces',
    {
      config: { scope: 'ops' },
      schema: {
        summary:
          'E-mail bounces and complaints: hard bounce and complaint suppress the address; a complaint also withdraws all e-mail consent',
        tags: ['inbound'],
        // outside /v1: kept out of the OpenAPI document (its contract is /v1 only); see docs/inbound.md
        hide: true,
        body: BounceBody,
        response: { 200: BounceResult, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const body = request.body;
      if (body.message_id === undefined && body.email === undefined) {
        throw new ValidationError([{ field: 'body/message_id', message: 'message_id or email is required' }]);
      }
      const outcome = await recordBounce(db, config.pseudonymSecret, {
        type: body.type,
        messageId: body.message_id,
        email: body.email,
        occurredAt: body.occurred_at === undefined ? undefined : new Date(body.occurred_at),
        actor: actorOf(request),
        requestId: request.id,
      });
      return {
        suppressed: outcome.suppressed,
        withdrawn: outcome.withdrawn,
        event_recorded: outcome.eventRecorded,
        recipient_found: outcome.recipientFound,
      };
    },
  );
}
