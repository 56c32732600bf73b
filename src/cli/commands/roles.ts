import { startCampaignRunner } from '../../campaigns/runner-role.js';
import { startScheduler } from '../../campaigns/scheduler-role.js';
import { createChannelSender } from '../../channels/senders.js';
import { formatProblems, loadConfig } from '../../config/config.js';
import { startMaintenance } from '../../delivery/maintenance-role.js';
import { DEFAULT_WORKER_OPTIONS, startChannelWorker } from '../../delivery/worker.js';
import { buildDeps, type Deps } from '../../deps.js';
import type { Channel } from '../../domain/vocabulary.js';
import { startMetricsServer } from '../../metrics/metrics-server.js';
import { noArguments } from '../arguments.js';
import type { Command } from '../command.js';
import { EXIT } from '../exit-codes.js';
import { runUntilSignal, type Stop } from '../lifecycle.js';

/** Starts a role in a process whose dependencies are built: returns its graceful stop. */
export type StartRole = (deps: Deps) => Promise<Stop>;

/**
 * The role, plus its own `GET /metrics` listener when METRICS_PORT is set (docs/operations.md); the
 * listener closes after the role has stopped, so the last counts stay scrapeable while it drains.
 */
function withMetricsListener(start: StartRole): StartRole {
  return async (deps) => {
    const port = deps.config.metrics.port;
    const listener = port === undefined ? undefined : await startMetricsServer(deps.config.http.host, port);
    const stop = await start(deps).catch(async (err: unknown) => {
      await listener?.stop();
      throw err;
    });
    return async () => {
      await stop();
      await listener?.stop();
    };
  };
}

/**
 * A long-lived process role: configuration, dependencies, start, then stop on SIGTERM. A channel
 * role (`channel`) refuses to start when CHANNELS leaves its channel out: it would have nothing to
 * send, and no provider settings to send with.
 */
export function role(name: string, usage: string, start: StartRole, channel?: Channel): Command {
  return {
    name,
    usage,
    async run(args, env, out) {
      noArguments(args);
      const loaded = loadConfig(env);
      if (!loaded.ok) {
        out.error(formatProblems(loaded.problems));
        return EXIT.usage;
      }
      if (channel !== undefined && !loaded.config.channels.includes(channel)) {
        out.error(
          formatProblems([
            {
              key: 'CHANNELS',
              message: `${channel} is not enabled (CHANNELS=${loaded.config.channels.join(',')}): the ${name} role has nothing to send`,
            },
          ]),
        );
        return EXIT.usage;
      }
      const deps = buildDeps(loaded.config, { role: name });
      return runUntilSignal(deps, () => withMetricsListener(start)(deps));
    },
  };
}

export const maintenance = role(
  'maintenance',
  'maintenance                         reconcile messages (lost leases, lost jobs), revive stuck runs, retention daily',
  startMaintenance,
);

/** The channel worker of one channel with the configured lease, concurrency and rate. */
export function startChannelRole(channel: Channel): StartRole {
  return async (deps) => {
    const settings = deps.config[channel];
    // run() and startAll() start only enabled channels: this is a fault of ours, not a configuration
    if (settings === undefined) throw new Error(`the ${channel} channel is not enabled (CHANNELS)`);
    const { stop } = startChannelWorker(deps, channel, createChannelSender(channel, deps.config), {
      ...DEFAULT_WORKER_OPTIONS,
      leaseSeconds: deps.config.policy.sendLeaseSeconds,
      concurrency: deps.config.policy.workerConcurrency,
      ratePerSecond: settings.ratePerSecond,
    });
    return stop;
  };
}

function channelRole(channel: Channel, what: string): Command {
  return role(channel, `${channel.padEnd(36)}${what}`, startChannelRole(channel), channel);
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
