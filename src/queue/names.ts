import type { Channel } from '../domain/vocabulary.js';

/** Queue names (DESIGN.md pipeline). Keys live under the configured prefix: `${prefix}:${name}:...`. */
export const CAMPAIGN_RUNS_QUEUE = 'campaign-runs';
export const MAINTENANCE_QUEUE = 'maintenance';
/** Ticks of the campaigns' job schedulers (one scheduler per scheduled campaign), taken by the scheduler role. */
export const CAMPAIGN_SCHEDULES_QUEUE = 'campaign-schedules';
export const SEND_QUEUES: Readonly<Record<Channel, string>> = {
  email: 'send-email',
  sms: 'send-sms',
  push: 'send-push',
};
export const ALL_QUEUES: readonly string[] = [
  CAMPAIGN_RUNS_QUEUE,
  ...Object.values(SEND_QUEUES),
  MAINTENANCE_QUEUE,
  CAMPAIGN_SCHEDULES_QUEUE,
];
