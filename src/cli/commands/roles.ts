import { formatProblems, loadConfig } from '../../config/config.js';
import { buildDeps } from '../../deps.js';
import type { Channel } from '../../domain/vocabulary.js';
import { startMetricsServer } from '../../metrics/metrics-server.js';
import { startCampaignRunner } from '../../roles/campaign-runner.js';
import { startChannelRole } from '../../roles/channel.js';
import { startMaintenance } from '../../roles/maintenance.js';
import type { StartRole } from '../../roles/role.js';
import { startScheduler } from '../../roles/scheduler.js';
import { noArguments } from '../arguments.js';
import type { Command } from '../command.js';
import { EXIT } from '../exit-codes.js';
import { runUntilSignal } from '../lifecycle.js';

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
