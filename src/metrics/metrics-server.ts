import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { enableProcessMetrics, processRegistry } from './process-metrics.js';

/**
 * A role's own metrics listener (METRICS_PORT): `GET /metrics` with this process's registry, nothing
 * else. Unauthenticated by design: it shows counters and process figures only, no ids and nothing
 * personal, and is meant to be bound to a private interface that only Prometheus reaches
 * (docs/operations.md). The api's `GET /metrics` on the main port needs the `ops` scope instead.
 */
export async function startMetricsServer(
  host: string,
  port: number,
): Promise<{ readonly port: number; stop(): Promise<void> }> {
  enableProcessMetrics();
  const server = createServer((request, response) => {
    const path = (request.url ?? '').split('?')[0];
    if (request.method !== 'GET' || path !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found; try GET /metrics\n');
      return;
    }
    processRegistry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': processRegistry.contentType }).end(text),
      () => response.writeHead(500, { 'content-type': 'text/plain' }).end('metrics unavailable\n'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
