import type { Channel } from '../domain/vocabulary.js';
import { startApi } from './api.js';
import { startCampaignRunner } from './campaign-runner.js';
import { startChannelRole } from './channel.js';
import { startMaintenance } from './maintenance.js';
import type { StartRole, Stop } from './role.js';
import { startScheduler } from './scheduler.js';

/**
 * Every role of `consentcast all`, sharing one set of dependencies (one pool, one producer Redis
 * connection). They start in this order and stop in the reverse one: the api stops taking requests
 * first, then what produces work stops before what consumes it, so the channel workers finish the
 * sends in flight and maintenance goes last. A new role is one entry here; the scheduler
 * comes after the campaign runner (it produces runs for it).
 */
interface AllRole {
  readonly name: string;
  readonly start: StartRole;
  /** A channel's worker: started only when CHANNELS enables the channel. */
  readonly channel?: Channel;
}

export const ALL_ROLES: readonly AllRole[] = [
  { name: 'maintenance', start: startMaintenance },
  { name: 'email', start: startChannelRole('email'), channel: 'email' },
  { name: 'sms', start: startChannelRole('sms'), channel: 'sms' },
  { name: 'push', start: startChannelRole('push'), channel: 'push' },
  { name: 'campaign-runner', start: startCampaignRunner },
  { name: 'scheduler', start: startScheduler },
  { name: 'api', start: startApi },
];

/**
 * Starts every role of ALL_ROLES — a channel's worker only when CHANNELS enables the channel; if one
 * fails to start, those already started are stopped again.
 */
export const startAll: StartRole = async (deps) => {
  const started: { name: string; stop: Stop }[] = [];
  // Every started role is stopped even when one of them fails to; the failure is reported at the end.
  const stopStarted = async (): Promise<void> => {
    const failed: string[] = [];
    for (const r of [...started].reverse()) {
      deps.logger.info({ role: r.name }, 'stopping role');
      await r.stop().catch((err: unknown) => {
        deps.logger.error({ err, role: r.name }, 'role did not stop cleanly');
        failed.push(r.name);
      });
    }
    if (failed.length > 0) throw new Error(`roles did not stop cleanly: ${failed.join(', ')}`);
  };
  for (const r of ALL_ROLES) {
    if (r.channel !== undefined && !deps.config.channels.includes(r.channel)) continue;
    try {
      started.push({ name: r.name, stop: await r.start(deps) });
    } catch (err) {
      deps.logger.error({ err, role: r.name }, 'role failed to start; stopping the others');
      await stopStarted().catch(() => undefined);
      throw err;
    }
  }
  deps.logger.info({ roles: started.map((r) => r.name) }, 'every role started');
  return stopStarted;
};
