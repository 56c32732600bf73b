import type { FastifyRequest } from 'fastify';
import { type Actor, staffActor } from '../auth/actor.js';
import type { Principal } from '../auth/principal.js';
import type { Scope } from '../auth/scopes.js';
import { scopesOfRoles } from '../staff/roles.js';
import { findLiveSession } from '../staff/sessions.js';
import type { HttpContext, TypedApp } from './context.js';
import { ForbiddenError, UnauthorizedError } from './http-errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The scope a route needs, or a list of which any one will do; routes without one must be marked public. */
    scope?: Scope | readonly Scope[];
    public?: boolean;
    /** Any member of staff signed in with a session, whatever their roles (who am I, sign-out). */
    session?: boolean;
  }
  interface FastifyRequest {
    principal?: Principal;
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Who is calling: an API key in the Authorization header, else a staff session cookie. A session is
 * authorised by the scopes of its person's roles, read with the session on every request, so a role
 * change, a TOTP reset or offboarding applies to the very next request.
 */
async function authenticate(request: FastifyRequest, ctx: HttpContext): Promise<Principal> {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const match = /^Bearer (\S+)$/.exec(header);
    if (!match?.[1]) throw new UnauthorizedError('an API key is required: Authorization: Bearer cc_...');
    const key = await ctx.verifyApiKey(match[1]);
    if (!key) throw new UnauthorizedError('the API key is unknown, revoked or expired');
    return { kind: 'api_key', ...key };
  }
  const token = request.cookies[ctx.staffSession.cookieName];
  if (token !== undefined) {
    const session = await findLiveSession(ctx.deps.db, token, ctx.staffSession.limits, new Date());
    if (!session) throw new UnauthorizedError('the session has ended; sign in again');
    return {
      kind: 'staff',
      staffId: session.staffId,
      scopes: scopesOfRoles(session.roles),
      sessionHash: session.idHash,
    };
  }
  throw new UnauthorizedError('an API key is required: Authorization: Bearer cc_... (or a staff session)');
}

/**
 * Every route is authenticated unless marked `public`, and every authenticated route names its scope:
 * a route that forgets both fails closed (403), it does not open up. A state change made with a
 * session must carry the CSRF token (@fastify/csrf-protection, bound to the session); API keys are
 * not sent by browsers on their own, so their requests need none.
 */
export function registerAuth(app: TypedApp, ctx: HttpContext): void {
  app.decorateRequest('principal', undefined);
  app.addHook('onRequest', async (request) => {
    const config = request.routeOptions.config;
    // No route matched: the not-found handler answers 404 (an unknown path is not an auth question).
    if (request.routeOptions.url === undefined || config.public === true) return;
    const principal = await authenticate(request, ctx);
    const lacks = principal.kind === 'api_key' ? 'this API key lacks' : 'your roles lack';
    if (config.session === true) {
      if (principal.kind !== 'staff')
        throw new ForbiddenError('this route is for staff signed in with a session');
    } else {
      const needed: readonly Scope[] =
        config.scope === undefined ? [] : typeof config.scope === 'string' ? [config.scope] : config.scope;
      if (!needed.some((scope) => principal.scopes.includes(scope))) {
        throw new ForbiddenError(
          `${lacks} the scope ${needed.length === 0 ? '(none declared)' : needed.join(' or ')}`,
        );
      }
    }
    request.principal = principal;
  });
  app.addHook('onRequest', (request, reply, done) => {
    if (request.principal?.kind === 'staff' && !SAFE_METHODS.has(request.method)) {
      app.csrfProtection(request, reply, done);
      return;
    }
    done();
  });
}

/** The actor of an authenticated request, for the ledger and the audit log. */
export function actorOf(request: { principal?: Principal }): Actor {
  const principal = request.principal;
  if (!principal) throw new UnauthorizedError('not authenticated');
  return principal.kind === 'staff' ? staffActor(principal.staffId) : { type: 'api_key', id: principal.name };
}
