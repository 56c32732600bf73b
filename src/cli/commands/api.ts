import { formatProblems, loadConfig } from '../../config/config.js';
import { buildDeps } from '../../deps.js';
import { buildHttpApp } from '../../http/app.js';
import type { Command } from '../command.js';
import { EXIT } from '../exit-codes.js';
import { runUntilSignal } from '../lifecycle.js';

export const api: Command = {
  name: 'api',
  usage: 'api                                 serve HTTP: the /v1 API, /openapi.json, /healthz, /readyz',
  async run(_args, env, out) {
    const loaded = loadConfig(env);
    if (!loaded.ok) {
      out.error(formatProblems(loaded.problems));
      return EXIT.usage;
    }
    const deps = buildDeps(loaded.config, { role: 'api' });
    return runUntilSignal(deps, async () => {
      const app = await buildHttpApp(deps);
      await app.listen({ host: loaded.config.http.host, port: loaded.config.http.port });
      return () => app.close();
    });
  },
};
