import type { HttpContext, TypedApp } from '../http/context.js';
import { checkReadiness } from './readiness.js';

/** `/healthz` (the process answers) and `/readyz` (what it needs answers too): public, not in the OpenAPI document. */
export function registerHealthRoutes(app: TypedApp, ctx: HttpContext): void {
  app.get('/healthz', { schema: { hide: true }, config: { public: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true }, config: { public: true } }, async (_request, reply) => {
    const readiness = await checkReadiness(ctx.deps);
    return reply.code(readiness.ready ? 200 : 503).send(readiness);
  });
}
