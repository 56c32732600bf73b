import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { audit } from '../audit/audit.js';
import type { Actor } from '../auth/actor.js';
import { currentConsents, endAllGrants, FUTURE_TOLERANCE_MS } from '../consent/ledger.js';
import type { HttpContext, TypedApp } from '../http/context.js';
import { verifyLink } from '../links/tokens.js';
import { findMessage, type InboundMessage, recordMessageEvent } from './events.js';
import {
  confirmPage,
  donePage,
  goneLinkPage,
  invalidLinkPage,
  notDonePage,
  type PageLang,
  pageLang,
} from './pages.js';

/**
 * A token older than this, or signed with a retired key, gets a note on the GET page that the link is
 * old. It works all the same: a POST with it withdraws, whatever its age (N12: at any time).
 */
export const FRESH_LINK_SECONDS = 90 * 24 * 3600;

/**
 * A grant may be stamped up to FUTURE_TOLERANCE_MS ahead of now, and then outranks a withdrawal made
 * now (ledger ordering, N13); a withdrawal after that much time ends it.
 */
const RETRY_AFTER_SECONDS = Math.ceil(FUTURE_TOLERANCE_MS / 1000);

/** The person behind an unsubscribe link: no personal data, only the channel the link came from. */
export const UNSUBSCRIBE_ACTOR: Actor = Object.freeze({ type: 'data_subject', id: 'unsubscribe_link' });

const TokenParams = Type.Object({ token: Type.String({ minLength: 1, maxLength: 512 }) });
const LangQuery = Type.Object(
  { lang: Type.Optional(Type.Union([Type.Literal('lv'), Type.Literal('en')])) },
  { additionalProperties: false },
);
const UnsubscribeForm = Type.Object(
  {
    'List-Unsubscribe': Type.Optional(Type.Literal('One-Click')),
    scope: Type.Optional(Type.Union([Type.Literal('this'), Type.Literal('all')])),
    lang: Type.Optional(Type.Union([Type.Literal('lv'), Type.Literal('en')])),
  },
  { additionalProperties: Type.String() },
);

/**
 * `invalid` (a bad signature, an unknown key id, a malformed token or another kind of link) is answered
 * 400 on GET and POST alike and changes nothing; `gone` (the message or person erased) 404. `stale`
 * only changes the wording of the GET page.
 */
type Resolved =
  | { kind: 'invalid' }
  | { kind: 'gone' }
  | { kind: 'ok'; message: InboundMessage; stale: boolean };

async function resolve(ctx: HttpContext, token: string): Promise<Resolved> {
  const { config, db } = ctx.deps;
  const verified = verifyLink(config.signing, token);
  if (!verified.ok || verified.payload.kind !== 'unsubscribe') return { kind: 'invalid' };
  const message = await findMessage(db, verified.payload.messageId);
  if (!message || message.erased_at !== null) return { kind: 'gone' };
  const age = Date.now() / 1000 - verified.payload.iat;
  const stale = age > FRESH_LINK_SECONDS || verified.keyId !== config.signing.current.id;
  return { kind: 'ok', message, stale };
}

function html(reply: FastifyReply, status: number, body: string): FastifyReply {
  return reply
    .code(status)
    .header('cache-control', 'no-store')
    .header('referrer-policy', 'no-referrer')
    .type('text/html; charset=utf-8')
    .send(body);
}

/** What a link withdrawal did, and what the database says afterwards. */
export interface LinkWithdrawal {
  /** Ledger events written now: 0 when nothing asked for was still granted (a repeat). */
  readonly recorded: number;
  /** Grants the request asked to end that the committed consent state still shows in force. */
  readonly stillGranted: number;
}

/**
 * Withdraws the purpose x channel of the message (or every live grant) with source
 * `unsubscribe_link`. Only live grants are ended, so repeating it records nothing new. Then reads
 * the committed consent state back, so that the answer says what is true, not what was meant.
 */
export async function withdrawByLink(
  ctx: HttpContext,
  request: FastifyRequest,
  message: InboundMessage,
  scope: 'this' | 'all',
): Promise<LinkWithdrawal> {
  const recorded = await recordLinkWithdrawal(ctx, request, message, scope);
  const consents = await currentConsents(ctx.deps.db, message.recipient_id);
  const stillGranted = consents.filter(
    (c) =>
      c.status === 'granted' &&
      (scope === 'all' || (c.purpose === message.purpose && c.channel === message.channel)),
  ).length;
  return { recorded, stillGranted };
}

async function recordLinkWithdrawal(
  ctx: HttpContext,
  request: FastifyRequest,
  message: InboundMessage,
  scope: 'this' | 'all',
): Promise<number> {
  const { db, config } = ctx.deps;
  return db.transaction().execute(async (trx) => {
    const recorded = await endAllGrants(trx, config.pseudonymSecret, {
      recipientId: message.recipient_id,
      action: 'withdraw',
      ...(scope === 'this' ? { purposes: [message.purpose], channels: [message.channel] } : {}),
      source: 'unsubscribe_link',
      actor: UNSUBSCRIBE_ACTOR,
      evidence: {
        requestId: request.id,
        ip: request.ip,
        ...(request.headers['user-agent'] !== undefined ? { userAgent: request.headers['user-agent'] } : {}),
      },
      reason: scope === 'this' ? 'unsubscribe_link' : 'unsubscribe_link_all',
    });
    if (recorded.length > 0) {
      await recordMessageEvent(trx, {
        messageId: message.id,
        type: 'unsubscribed',
        providerEventId: `unsubscribe:${scope}`,
        data: { scope },
      });
      await audit(trx, {
        actor: UNSUBSCRIBE_ACTOR,
        action: 'consent.withdraw',
        subjectType: 'recipient',
        subjectId: message.recipient_id,
        recipientId: message.recipient_id,
        requestId: request.id,
        reason: 'unsubscribe_link',
        details: {
          message_id: message.id,
          scope,
          events: recorded.map(
            (r) => `${r.action}:${r.purpose}:${r.channel}${r.applied ? '' : ':superseded'}`,
          ),
        },
      });
    }
    return recorded.length;
  });
}

export function registerUnsubscribeRoutes(app: TypedApp, ctx: HttpContext): void {
  const { config } = ctx.deps;
  const controller = config.controller;

  app.get(
    '/u/:token',
    {
      config: { public: true },
      schema: {
        summary: 'Unsubscribe page (lv/en): names the purpose and channel, offers this-kind or everything',
        tags: ['inbound'],
        // outside /v1: kept out of the OpenAPI document (its contract is /v1 only); see docs/inbound.md
        hide: true,
        params: TokenParams,
        querystring: LangQuery,
      },
    },
    async (request, reply) => {
      const override = request.query.lang;
      const found = await resolve(ctx, request.params.token);
      if (found.kind === 'invalid') return html(reply, 400, invalidLinkPage(override ?? 'lv', controller));
      if (found.kind === 'gone') return html(reply, 404, goneLinkPage(override ?? 'lv', controller));
      const lang = pageLang(override, found.message.locale);
      return html(
        reply,
        200,
        confirmPage({
          lang,
          controller,
          action: `/u/${encodeURIComponent(request.params.token)}`,
          purpose: found.message.purpose,
          channel: found.message.channel,
          stale: found.stale,
        }),
      );
    },
  );

  app.post(
    '/u/:token',
    {
      config: { public: true },
      schema: {
        summary:
          'Unsubscribe: the page form (scope=this|all) or RFC 8058 one-click (List-Unsubscribe=One-Click)',
        tags: ['inbound'],
        // outside /v1: kept out of the OpenAPI document (its contract is /v1 only); see docs/inbound.md
        hide: true,
        params: TokenParams,
        querystring: LangQuery,
        body: UnsubscribeForm,
      },
    },
    async (request, reply) => {
      const body = request.body;
      const override: PageLang | undefined = body.lang ?? request.query.lang;
      const found = await resolve(ctx, request.params.token);
      if (found.kind === 'invalid') return html(reply, 400, invalidLinkPage(override ?? 'lv', controller));
      if (found.kind === 'gone') return html(reply, 404, goneLinkPage(override ?? 'lv', controller));
      const { message } = found;
      const lang = pageLang(override, message.locale);
      // The page's buttons and RFC 8058 one-click alike: a token that verifies under the current or a
      // retired key withdraws whatever its age (N12). Only the GET page asks the person to confirm: a
      // mail provider takes any 200 to a one-click POST as done.
      const scope = body.scope ?? 'this';
      const outcome = await withdrawByLink(ctx, request, message, scope);
      if (outcome.stillGranted > 0) {
        request.log.warn(
          { scope, recorded: outcome.recorded, stillGranted: outcome.stillGranted },
          'unsubscribe recorded but a grant is still in force',
        );
        return html(
          reply.header('retry-after', String(RETRY_AFTER_SECONDS)),
          503,
          notDonePage(lang, controller),
        );
      }
      return html(reply, 200, donePage(lang, controller, scope));
    },
  );
}
