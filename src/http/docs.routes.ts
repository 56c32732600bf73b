import type { TypedApp } from './context.js';
import { type OpenApiLike, renderDocsPage } from './docs-page.js';

/** The API describing itself: the OpenAPI document at `/openapi.json`, and `/docs`, a page made from it. */
export function registerDocsRoutes(app: TypedApp): void {
  app.get('/openapi.json', { schema: { hide: true }, config: { public: true } }, async () => app.swagger());
  app.get('/docs', { schema: { hide: true }, config: { public: true } }, async (_request, reply) =>
    reply.type('text/html; charset=utf-8').send(renderDocsPage(app.swagger() as OpenApiLike)),
  );
}
