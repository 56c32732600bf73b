import type { HttpContext, TypedApp } from '../http/app.js';
import { registerMetricsRoute } from './metrics.routes.js';
import { registerQueueBoard } from './queue-board.js';

/** Ops endpoints outside /v1 (docs/operations.md): `GET /metrics` and the queue board at /admin/queues. */
export async function registerOps(app: TypedApp, ctx: HttpContext): Promise<void> {
  registerMetricsRoute(app, ctx);
  await registerQueueBoard(app, ctx);
}
