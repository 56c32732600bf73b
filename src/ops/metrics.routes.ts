import { Type } from '@sinclair/typebox';
import type { HttpContext, TypedApp } from '../http/context.js';
import { ErrorBody } from '../http/schemas.js';
import { createApiMetrics } from '../metrics/api-metrics.js';

/**
 * `GET /metrics` on the api: Prometheus text with the deployment's queue, message and withdrawal
 * figures (read on scrape) and this process's own counters. Needs an API key with the `ops` scope as
 * a bearer token (Prometheus `authorization: { type: Bearer, credentials_file: ... }`).
 */
export function registerMetricsRoute(app: TypedApp, ctx: HttpContext): void {
  const metrics = createApiMetrics(ctx.deps);
  app.get(
    '/metrics',
    {
      config: { scope: 'ops' },
      schema: {
        hide: true,
        response: {
          200: Type.String({ description: 'Prometheus text exposition format 0.0.4' }),
          401: ErrorBody,
          403: ErrorBody,
        },
      },
    },
    async (_request, reply) => {
      const text = await metrics.render();
      return reply.header('content-type', metrics.contentType).send(text);
    },
  );
}
