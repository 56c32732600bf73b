import type { Deps } from '../deps.js';
import { buildHttpApp } from '../http/app.js';
import type { Stop } from './role.js';

/** The HTTP server on HTTP_HOST:HTTP_PORT; stopping it finishes the requests in flight. */
export async function startApi(deps: Deps): Promise<Stop> {
  const app = await buildHttpApp(deps);
  await app.listen({ host: deps.config.http.host, port: deps.config.http.port });
  return () => app.close();
}
