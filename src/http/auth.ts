import type { Actor } from '../auth/actor.js';
import type { ApiKeyPrincipal } from '../auth/api-keys.js';
import type { Scope } from '../auth/scopes.js';
import type { HttpContext, TypedApp } from './context.js';
import { ForbiddenError, UnauthorizedError } from './http-errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The scope a route needs, or a list of which any one will do; routes without one must be marked public. */
    scope?: Scope | readonly Scope[];
    public?: boolean;
  }
  interface FastifyRequest {
    principal?: ApiKeyPrincipal;
  }
}

/**
 * Every route is authenticated unless marked `public`, and every authenticated route names its scope:
 * a route that forgets both fails closed (403), it does not open up.
 */
export function registerAuth(app: TypedApp, ctx: HttpContext): void {
  app.decorateRequest('principal', undefined);
  app.addHook('onRequest', async (request) => {
    const config = request.routeOptions.config;
    // No route matched: the not-found handler answers 404 (an unknown path is not an auth question).
    if (request.routeOptions.url === undefined || config.public === true) return;
    const header = request.headers.authorization;
    const match = header === undefined ? null : /^Bearer (\S+)$/.exec(header);
    if (!match?.[1]) throw new UnauthorizedError('an API key is required: Authorization: Bearer cc_...');
    const principal = await ctx.verifyApiKey(match[1]);
    if (!principal) throw new UnauthorizedError('the API key is unknown, revoked or expired');
    const needed: readonly Scope[] =
      config.scope === undefined ? [] : typeof config.scope === 'string' ? [config.scope] : config.scope;
    if (!needed.some((scope) => principal.scopes.includes(scope))) {
      throw new ForbiddenError(
        `this API key lacks the scope ${needed.length === 0 ? '(none declared)' : needed.join(' or ')}`,
      );
    }
    request.principal = principal;
  });
}

/** The actor of an authenticated request, for the ledger and the audit log. */
export function actorOf(request: { principal?: ApiKeyPrincipal }): Actor {
  if (!request.principal) throw new UnauthorizedError('not authenticated');
  return { type: 'api_key', id: request.principal.name };
}
