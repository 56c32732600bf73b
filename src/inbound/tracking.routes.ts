import { Type } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import type { HttpContext, TypedApp } from '../http/context.js';
import { type LinkKind, verifyLink } from '../links/tokens.js';
import { findMessage, recordMessageEvent } from './events.js';

/** A transparent 1x1 GIF. */
export const PIXEL = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

const TokenParams = Type.Object({ token: Type.String({ minLength: 1, maxLength: 512 }) });

function badLink(reply: FastifyReply): FastifyReply {
  return reply.code(400).send({ error: 'invalid_link', message: 'the link is not valid' });
}

/**
 * Click and open tracking (N8). Old tokens still count (the message id is what matters); tampered
 * ones are refused and record nothing. Clicks go to the landing page: PUBLIC_BASE_URL + '/' (there is
 * no per-offer landing URL in the configuration yet).
 */
export function registerTrackingRoutes(app: TypedApp, ctx: HttpContext): void {
  const { db, config } = ctx.deps;

  async function track(token: string, kind: LinkKind): Promise<'ok' | 'invalid'> {
    const verified = verifyLink(config.signing, token);
    if (!verified.ok || verified.payload.kind !== kind) return 'invalid';
    const message = await findMessage(db, verified.payload.messageId);
    if (message && message.erased_at === null) {
      await recordMessageEvent(db, { messageId: message.id, type: kind === 'click' ? 'clicked' : 'opened' });
    }
    return 'ok';
  }

  app.get(
    '/c/:token',
    {
      config: { public: true },
      schema: {
        summary: 'Click tracking: records `clicked` and redirects to the landing page',
        tags: ['inbound'],
        // outside /v1: kept out of the OpenAPI document (its contract is /v1 only); see docs/inbound.md
        hide: true,
        params: TokenParams,
      },
    },
    async (request, reply) => {
      if ((await track(request.params.token, 'click')) === 'invalid') return badLink(reply);
      return reply
        .code(302)
        .header('cache-control', 'no-store')
        .header('referrer-policy', 'no-referrer')
        .redirect(`${config.http.publicBaseUrl}/`, 302);
    },
  );

  app.get(
    '/o/:token',
    {
      config: { public: true },
      schema: {
        summary: 'Open tracking: records `opened` and returns a 1x1 GIF',
        tags: ['inbound'],
        // outside /v1: kept out of the OpenAPI document (its contract is /v1 only); see docs/inbound.md
        hide: true,
        params: TokenParams,
      },
    },
    async (request, reply) => {
      if ((await track(request.params.token, 'open')) === 'invalid') return badLink(reply);
      return reply.code(200).header('cache-control', 'no-store, private').type('image/gif').send(PIXEL);
    },
  );
}
