import { createChannelSender } from '../channels/senders.js';
import { DEFAULT_WORKER_OPTIONS, startChannelWorker } from '../delivery/worker.js';
import type { Channel } from '../domain/vocabulary.js';
import type { StartRole } from './role.js';

/** The channel worker of one channel (`email`, `sms`, `push`) with the configured lease, concurrency and rate. */
export function startChannelRole(channel: Channel): StartRole {
  return async (deps) => {
    const { stop } = startChannelWorker(deps, channel, createChannelSender(channel, deps.config), {
      ...DEFAULT_WORKER_OPTIONS,
      leaseSeconds: deps.config.policy.sendLeaseSeconds,
      concurrency: deps.config.policy.workerConcurrency,
      ratePerSecond: deps.config[channel].ratePerSecond,
    });
    return stop;
  };
}
