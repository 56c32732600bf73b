import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { ApiKeyVerifier } from '../auth/api-keys.js';
import type { Deps } from '../deps.js';
import type { StaffSessionSettings } from './staff-session.js';

/**
 * What a route module needs from the web layer: the app it registers on and the context it reads.
 * This module imports no route. Route modules import it, `routes.ts` imports them and `app.ts` imports
 * `routes.ts`, so the web layer is a tree from app.ts down, not a circle through it.
 */

/** The Fastify instance with the TypeBox type provider: a route's schemas type its handler. */
export type TypedApp = FastifyInstance<
  Server,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

/** Built once per app (`buildHttpApp`) and handed to every route module. */
export interface HttpContext {
  readonly deps: Deps;
  readonly verifyApiKey: ApiKeyVerifier;
  readonly staffSession: StaffSessionSettings;
}
