import type { Queue } from 'bullmq';
import type { Channel } from '../domain/vocabulary.js';
import { type QueueName, SEND_QUEUES } from './names.js';

/** What holds the deployment's queues by name: `Deps`, whose `buildDeps` makes one per ALL_QUEUES. */
interface HasQueues {
  readonly queues: ReadonlyMap<string, Queue>;
}

/**
 * The queue of that name. `buildDeps` builds every queue of ALL_QUEUES, so a miss is a bug of ours (a
 * name left out of ALL_QUEUES), not a condition to handle: it throws.
 */
export function queueOf(deps: HasQueues, name: QueueName): Queue {
  const queue = deps.queues.get(name);
  if (!queue) throw new Error(`queue ${name} is not built`);
  return queue;
}

/** The send queue of each channel. */
export function sendQueuesOf(deps: HasQueues): Record<Channel, Queue> {
  return {
    email: queueOf(deps, SEND_QUEUES.email),
    sms: queueOf(deps, SEND_QUEUES.sms),
    push: queueOf(deps, SEND_QUEUES.push),
  };
}
