import { startCampaignRunner } from '../../campaigns/runner-role.js';
import { formatProblems, loadConfig } from '../../config/config.js';
import { startMaintenance } from '../../delivery/maintenance-role.js';
import { buildDeps, type Deps } from '../../deps.js';
import type { Command } from '../command.js';
import { EXIT } from '../exit-codes.js';
import { runUntilSignal, type Stop } from '../lifecycle.js';

/** A long-lived process role: configuration, dependencies, start, then stop on SIGTERM. */
function role(name: string, usage: string, start: (deps: Deps) => Promise<Stop>): Command {
  return {
    name,
    usage,
    async run(_args, env, out) {
      const loaded = loadConfig(env);
      if (!loaded.ok) {
        out.error(formatProblems(loaded.problems));
        return EXIT.usage;
      }
      const deps = buildDeps(loaded.config, { role: name });
      return runUntilSignal(deps, () => start(deps));
    },
  };
}

export const maintenance = role(
  'maintenance',
  'maintenance                         reconcile messages (lost leases, lost jobs), revive stuck runs, retention daily',
  startMaintenance,
);

export const campaignRunner = role(
  'campaign-runner',
  'campaign-runner                     run campaigns: segmentation, offer matching, fan-out to the send queues',
  startCampaignRunner,
);
