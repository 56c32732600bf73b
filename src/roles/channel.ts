import { createChannelSender } from '../channels/senders.js';
import { DEFAULT_WORKER_OPTIONS, startChannelWorker } from '../delivery/worker.js';
import type { Channel } from '../domain/vocabulary.js';
import type { StartRole } from './role.js';

/** The channel worker of one channel (`email`, `sms`, `push`) with the configured lease, concurrency and rate. */
export function startChannelRole(channel: Channel): StartRole {
  return async (deps) => {
    const settings = deps.config[channel];
    // the CLI and startAll() start only enabled channels: this is a fault of ours, not a configuration
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
