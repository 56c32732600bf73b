import type { Channel } from '../domain/vocabulary.js';

/** Queue names (DESIGN.md pipeline). Keys live under the configured prefix: `${prefix}:${name}:...`. */
export const CAMPAIGN_RUNS_QUEUE = 'campaign-runs';
export const MAINTENANCE_QUEUE = 'maintenance';
/** Ticks of the campaigns' job schedulers (one scheduler per scheduled campaign), taken by the scheduler role. */
export const CAMPAIGN_SCHEDULES_QUEUE = 'campaign-schedules';
export const SEND_QUEUES = {
  email: 'send-email',
  sms: 'send-sms',
  push: 'send-push',
} as const satisfies Readonly<Record<Channel, string>>;

/** The name of one of the deployment's queues. */
export type QueueName =
  | typeof CAMPAIGN_RUNS_QUEUE
  | typeof MAINTENANCE_QUEUE
  | typeof CAMPAIGN_SCHEDULES_QUEUE
  | (typeof SEND_QUEUES)[Channel];

export const ALL_QUEUES: readonly QueueName[] = [
  CAMPAIGN_RUNS_QUEUE,
  ...Object.values(SEND_QUEUES),
  MAINTENANCE_QUEUE,
  CAMPAIGN_SCHEDULES_QUEUE,
];
