import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import twilio from 'twilio';
import { normalisePhone } from '../crypto/pseudonym.js';
import type { HttpContext, TypedApp } from '../http/context.js';
import { applySmsKeyword } from './sms-inbound.js';
import { keywordOf } from './sms-keywords.js';
import { applySmsStatus, type SmsFinalStatus } from './sms-status.js';

const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>';

const TwilioHeaders = Type.Object({
  'x-twilio-signature': Type.Optional(Type.String({ maxLength: 200 })),
});
/** Twilio posts many fields; they are all signed, so all are kept (and checked after the signature). */
const TwilioForm = Type.Record(Type.String(), Type.String());

const STATUS_EVENT: Record<string, SmsFinalStatus> = {
  delivered: 'delivered',
  undelivered: 'undelivered',
  failed: 'failed',
};

/**
 * `X-Twilio-Signature` over the public URL (PUBLIC_BASE_URL + path + query) and the sorted form
 * parameters, with the SMS auth token. Behind a proxy the public URL is what Twilio signed. Without
 * SMS (CHANNELS) there is no token, and nothing Twilio posts is accepted.
 */
export function verifyTwilio(ctx: HttpContext, request: FastifyRequest): boolean {
  const signature = request.headers['x-twilio-signature'];
  const sms = ctx.deps.config.sms;
  if (sms === undefined || typeof signature !== 'string' || signature === '') return false;
  const url = `${ctx.deps.config.http.publicBaseUrl}${request.url}`;
  const params = (request.body ?? {}) as Record<string, string>;
  return twilio.validateRequest(sms.authToken, signature, url, params);
}

function forbidden(reply: FastifyReply): FastifyReply {
  return reply.code(403).send({ error: 'forbidden', message: 'the Twilio signature is missing or wrong' });
}

function twiml(reply: FastifyReply): FastifyReply {
  return reply.code(200).type('text/xml; charset=utf-8').send(EMPTY_TWIML);
}

export function registerTwilioRoutes(app: TypedApp, ctx: HttpContext): void {
  const { db } = ctx.deps;

  app.post(
    '/webhooks/twilio/status',
    {
      config: { public: true },
      schema: {
        summary: 'Twilio message status callback (signature-verified): delivered, undelivered, failed',
        tags: ['inbound'],
        // outside /v1: kept out of the OpenAPI document (its contract is /v1 only); see docs/inbound.md
        hide: true,
        headers: TwilioHeaders,
        body: TwilioForm,
      },
    },
    async (request, reply) => {
      if (!verifyTwilio(ctx, request)) return forbidden(reply);
      const sid = request.body.MessageSid;
      const type = STATUS_EVENT[request.body.MessageStatus ?? ''];
      if (sid === undefined || type === undefined) return reply.code(204).send();
      const errorCode = request.body.ErrorCode;
      await applySmsStatus(db, { sid, status: type, ...(errorCode !== undefined ? { errorCode } : {}) });
      return reply.code(204).send();
    },
  );

  app.post(
    '/webhooks/twilio/inbound',
    {
      config: { public: true },
      schema: {
        summary:
          'Inbound SMS (signature-verified): STOP/ATTEIKT withdraw all SMS consent, START re-grants it',
        tags: ['inbound'],
        // outside /v1: kept out of the OpenAPI document (its contract is /v1 only); see docs/inbound.md
        hide: true,
        headers: TwilioHeaders,
        body: TwilioForm,
      },
    },
    async (request, reply) => {
      if (!verifyTwilio(ctx, request)) return forbidden(reply);
      const keyword = keywordOf(request.body.Body ?? '');
      const phone = normalisePhone(request.body.From ?? '');
      if (keyword === undefined || phone === undefined) return twiml(reply);
      const changed = await applySmsKeyword(db, ctx.deps, {
        phone,
        keyword,
        requestId: request.id,
        providerEventId: request.body.MessageSid ?? `keyword:${request.id}`,
      });
      request.log.info({ keyword, matched: changed.people, events: changed.events }, 'sms keyword');
      return twiml(reply);
    },
  );
}
