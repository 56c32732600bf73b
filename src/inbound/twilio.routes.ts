import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import twilio from 'twilio';
import { audit } from '../audit/audit.js';
import type { Actor } from '../auth/actor.js';
import { endAllGrants, recordConsentChanges } from '../consent/ledger.js';
import { normalisePhone } from '../crypto/pseudonym.js';
import type { Db } from '../db/database.js';
import type { HttpContext, TypedApp } from '../http/context.js';
import { currentNotice } from '../notices/notices.repository.js';
import { recordMessageEvent } from './events.js';
import { keywordOf } from './sms-keywords.js';
import { applySmsStatus, type SmsFinalStatus } from './sms-status.js';

/** The person texting a keyword: no personal data, only the door it came through. */
export const SMS_KEYWORD_ACTOR: Actor = Object.freeze({ type: 'data_subject', id: 'sms_keyword' });

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
 * parameters, with the SMS auth token. Behind a proxy the public URL is what Twilio signed.
 */
export function verifyTwilio(ctx: HttpContext, request: FastifyRequest): boolean {
  const signature = request.headers['x-twilio-signature'];
  if (typeof signature !== 'string' || signature === '') return false;
  const url = `${ctx.deps.config.http.publicBaseUrl}${request.url}`;
  const params = (request.body ?? {}) as Record<string, string>;
  return twilio.validateRequest(ctx.deps.config.sms.authToken, signature, url, params);
}

function forbidden(reply: FastifyReply): FastifyReply {
  return reply.code(403).send({ error: 'forbidden', message: 'the Twilio signature is missing or wrong' });
}

function twiml(reply: FastifyReply): FastifyReply {
  return reply.code(200).type('text/xml; charset=utf-8').send(EMPTY_TWIML);
}

/** STOP: ends every live SMS grant of the person. */
async function stop(trx: Db, ctx: HttpContext, requestId: string, recipientId: number): Promise<number> {
  const recorded = await endAllGrants(trx, ctx.deps.config.pseudonymSecret, {
    recipientId,
    action: 'withdraw',
    channels: ['sms'],
    source: 'sms_keyword',
    actor: SMS_KEYWORD_ACTOR,
    evidence: { requestId },
    reason: 'sms_stop',
  });
  if (recorded.length > 0) {
    await audit(trx, {
      actor: SMS_KEYWORD_ACTOR,
      action: 'consent.withdraw',
      subjectType: 'recipient',
      subjectId: recipientId,
      recipientId,
      requestId,
      reason: 'sms_stop',
      details: { events: recorded.map((r) => `${r.action}:${r.purpose}:${r.channel}`) },
    });
  }
  return recorded.length;
}

/**
 * START: re-grants exactly what STOP withdrew — the SMS purposes whose deciding (latest) event is a
 * `sms_keyword` withdrawal — under the notice in force now.
 */
async function start(trx: Db, ctx: HttpContext, requestId: string, recipientId: number): Promise<number> {
  const stopped = await trx
    .selectFrom('consents')
    .select('purpose')
    .where('recipient_id', '=', recipientId)
    .where('channel', '=', 'sms')
    .where('status', '=', 'withdrawn')
    .where('source', '=', 'sms_keyword')
    .orderBy('purpose')
    .forUpdate()
    .execute();
  if (stopped.length === 0) return 0;
  const notice = await currentNotice(trx);
  if (!notice) {
    ctx.deps.logger.warn({ requestId }, 'sms START ignored: no notice is in force');
    return 0;
  }
  const recorded = await recordConsentChanges(trx, ctx.deps.config.pseudonymSecret, {
    recipientId,
    // now by the database's clock, as the STOP was, so it takes effect after the STOP it undoes; only
    // a START whose transaction began before that STOP's (and waited for it) loses to it
    changes: stopped.map((s) => ({ purpose: s.purpose, channel: 'sms' as const, action: 'grant' as const })),
    source: 'sms_keyword',
    actor: SMS_KEYWORD_ACTOR,
    noticeVersion: notice.version,
    evidence: { requestId },
  });
  await audit(trx, {
    actor: SMS_KEYWORD_ACTOR,
    action: 'consent.grant',
    subjectType: 'recipient',
    subjectId: recipientId,
    recipientId,
    requestId,
    reason: 'sms_start',
    details: {
      notice_version: notice.version,
      events: recorded.map((r) => `${r.action}:${r.purpose}:${r.channel}`),
    },
  });
  return recorded.length;
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
      const changed = await db.transaction().execute(async (trx) => {
        const people = await trx
          .selectFrom('recipients')
          .select('id')
          .where('phone', '=', phone)
          .where('erased_at', 'is', null)
          .orderBy('id')
          .execute();
        let n = 0;
        for (const person of people) {
          n +=
            keyword === 'stop'
              ? await stop(trx, ctx, request.id, person.id)
              : await start(trx, ctx, request.id, person.id);
          const last = await trx
            .selectFrom('messages')
            .select('id')
            .where('recipient_id', '=', person.id)
            .where('channel', '=', 'sms')
            .where('status', '=', 'sent')
            .orderBy('id', 'desc')
            .limit(1)
            .executeTakeFirst();
          if (last) {
            await recordMessageEvent(trx, {
              messageId: last.id,
              type: 'replied',
              providerEventId: request.body.MessageSid ?? `keyword:${request.id}`,
              data: { keyword },
            });
          }
        }
        return { people: people.length, events: n };
      });
      request.log.info({ keyword, matched: changed.people, events: changed.events }, 'sms keyword');
      return twiml(reply);
    },
  );
}
