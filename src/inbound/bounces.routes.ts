import { Type } from '@sinclair/typebox';
import { audit } from '../audit/audit.js';
import { endAllGrants } from '../consent/ledger.js';
import { keyedHash, normaliseEmail } from '../crypto/pseudonym.js';
import { ValidationError } from '../errors/validation-error.js';
import type { HttpContext, TypedApp } from '../http/context.js';
import { actorOf } from '../http/auth.js';
import { ERROR_RESPONSES, IsoDateTime } from '../http/schemas.js';
import { recordMessageEvent } from './events.js';

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
      const actor = actorOf(request);
      const occurredAt = body.occurred_at === undefined ? new Date() : new Date(body.occurred_at);
      const dated = body.occurred_at !== undefined && occurredAt.getTime() <= Date.now();
      const eventOccurredAt = dated ? occurredAt : new Date();
      return db.transaction().execute(async (trx) => {
        const message =
          body.message_id === undefined
            ? undefined
            : await trx
                .selectFrom('messages')
                .select(['id', 'recipient_id', 'channel'])
                .where('id', '=', body.message_id)
                .where('channel', '=', 'email')
                .executeTakeFirst();
        const email = body.email === undefined ? undefined : normaliseEmail(body.email);
        const person = message
          ? await trx
              .selectFrom('recipients')
              .select(['id', 'email_hash'])
              .where('id', '=', message.recipient_id)
              .where('erased_at', 'is', null)
              .executeTakeFirst()
          : email === undefined
            ? undefined
            : await trx
                .selectFrom('recipients')
                .select(['id', 'email_hash'])
                .where('email', '=', email)
                .where('erased_at', 'is', null)
                .orderBy('id')
                .executeTakeFirst();
        const addressHash =
          email === undefined
            ? (person?.email_hash ?? undefined)
            : keyedHash(config.pseudonymSecret, 'email', email);

        let suppressed = false;
        if (body.type !== 'soft_bounce' && addressHash !== undefined) {
          const reason = body.type === 'complaint' ? 'complaint' : 'hard_bounce';
          await trx
            .insertInto('suppressions')
            .values({ channel: 'email', address_hash: addressHash, reason, source: 'bounce_webhook' })
            .onConflict((oc) => oc.columns(['channel', 'address_hash']).doNothing())
            .execute();
          suppressed = true;
          await audit(trx, {
            actor,
            action: 'suppression.add',
            subjectType: 'suppression',
            ...(person ? { recipientId: person.id } : {}),
            requestId: request.id,
            reason,
            details: { channel: 'email', ...(message ? { message_id: message.id } : {}) },
          });
        }

        let withdrawn = 0;
        if (body.type === 'complaint' && person) {
          const recorded = await endAllGrants(trx, config.pseudonymSecret, {
            recipientId: person.id,
            action: 'withdraw',
            // the provider's date when it gave one (a complaint counts from when it was made), else now
            // by the database's clock
            ...(dated ? { occurredAt } : {}),
            channels: ['email'],
            source: 'operator',
            actor,
            evidence: { requestId: request.id },
            reason: 'complaint',
          });
          withdrawn = recorded.length;
          if (withdrawn > 0) {
            await audit(trx, {
              actor,
              action: 'consent.withdraw',
              subjectType: 'recipient',
              subjectId: person.id,
              recipientId: person.id,
              requestId: request.id,
              reason: 'complaint',
              details: { events: recorded.map((r) => `${r.action}:${r.purpose}:${r.channel}`) },
            });
          }
        }

        const eventRecorded = message
          ? await recordMessageEvent(trx, {
              messageId: message.id,
              type: body.type === 'complaint' ? 'complained' : 'bounced',
              providerEventId: `bounce:${body.type}`,
              occurredAt: eventOccurredAt,
              data: { kind: body.type },
            })
          : false;
        return {
          suppressed,
          withdrawn,
          event_recorded: eventRecorded,
          recipient_found: person !== undefined,
        };
      });
    },
  );
}
