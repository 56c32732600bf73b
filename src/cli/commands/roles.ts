import { startCampaignRunner } from '../../campaigns/runner-role.js';
import { startScheduler } from '../../campaigns/scheduler-role.js';
import { createChannelSender } from '../../channels/senders.js';
import { formatProblems, loadConfig } from '../../config/config.js';
import { startMaintenance } from '../../delivery/maintenance-role.js';
import { DEFAULT_WORKER_OPTIONS, startChannelWorker } from '../../delivery/worker.js';
import { buildDeps, type Deps } from '../../deps.js';
import type { Channel } from '../../domain/vocabulary.js';
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

function channelRole(channel: Channel, what: string): Command {
  return role(channel, `${channel.padEnd(36)}${what}`, async (deps) => {
    const { stop } = startChannelWorker(deps, channel, createChannelSender(channel, deps.config), {
      ...DEFAULT_WORKER_OPTIONS,
      leaseSeconds: deps.config.policy.sendLeaseSeconds,
      concurrency: deps.config.policy.workerConcurrency,
      ratePerSecond: deps.config[channel].ratePerSecond,
    });
    return stop;
  });
}

export const emailWorker = channelRole(
  'email',
  'send e-mail (nodemailer): re-check consent, render, send, record',
);
export const smsWorker = channelRole('sms', 'send SMS (twilio): re-check consent, render, send, record');
export const pushWorker = channelRole(
  'push',
  'send push (firebase-admin, FCM v1): re-check consent, render, send, record',
);

export const campaignRunner = role(
  'campaign-runner',
  'campaign-runner                     run campaigns: segmentation, offer matching, fan-out to the send queues',
  startCampaignRunner,
);

export const scheduler = role(
  'scheduler',
  'scheduler                           campaign schedules: re-create them from PostgreSQL, start a run per tick',
  startScheduler,
);
