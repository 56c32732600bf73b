import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Deps } from '../deps.js';
import { checkReadiness } from '../health/readiness.js';

/** The HTTP surface. Later issues register the /v1 API, webhooks, public pages and ops routes here. */
export async function buildHttpApp(deps: Deps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger.child({ component: 'http' }) as FastifyBaseLogger,
    disableRequestLogging: false,
    requestIdHeader: 'x-request-id',
    trustProxy: false,
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const readiness = await checkReadiness(deps);
    return reply.code(readiness.ready ? 200 : 503).send(readiness);
  });
  return app;
}
