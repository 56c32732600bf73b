import { Histogram } from 'prom-client';
import { processRegistry } from './process-metrics.js';

/** What the api's onResponse hook records of each request. */
export interface RequestMetrics {
  /**
   * `route` is the route's pattern (`/v1/campaigns/:id`), never the URL: URLs carry ids and tokens,
   * and every distinct URL would be a new series. Requests that matched no route pass `unmatched`.
   */
  observe(method: string, route: string, statusCode: number, seconds: number): void;
}

let recorder: RequestMetrics | undefined;

/**
 * `http_request_duration_seconds{method, route, status_code}` in the process registry. Registered on
 * first use, by the process that builds an HTTP app, so roles without one do not expose an empty family.
 */
export function requestMetrics(): RequestMetrics {
  if (recorder !== undefined) return recorder;
  const histogram = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP requests the api answered, from arrival to the response sent, by method, route pattern and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [processRegistry],
  });
  recorder = {
    observe(method, route, statusCode, seconds) {
      histogram.observe({ method, route, status_code: String(statusCode) }, seconds);
    },
  };
  return recorder;
}
