import type { JobsOptions } from 'bullmq';
import type { Channel } from '../domain/vocabulary.js';
import { parseIdPayload } from './id-payload.js';

/**
 * A send job carries the message id and nothing else (N16: no personal data in queues). Everything
 * the worker needs it loads at send time, after re-checking consent.
 */
export interface SendJobData {
  readonly messageId: number;
}

/** `m<id>`: BullMQ job ids may not contain ':' nor be plain integers; one job per message. */
export function sendJobId(messageId: number): string {
  return `m${messageId}`;
}

/** Validates a job payload at the queue edge: exactly `{ messageId: positive integer }`. */
export function parseSendJob(data: unknown): SendJobData | undefined {
  return parseIdPayload(data, 'messageId');
}

/** Retries only ever follow failures where the provider certainly did not accept the message. */
export const SEND_JOB_OPTIONS: JobsOptions = {
  attempts: 8,
  backoff: { type: 'exponential', delay: 5_000, jitter: 0.5 },
  removeOnComplete: true,
  removeOnFail: { age: 7 * 24 * 3600 },
};

export interface SendJob {
  readonly name: Channel;
  readonly data: SendJobData;
  readonly opts: JobsOptions;
}

export function sendJob(
  channel: Channel,
  messageId: number,
  notBefore: Date | null,
  now = Date.now(),
): SendJob {
  const delay = notBefore === null ? 0 : Math.max(0, notBefore.getTime() - now);
  return {
    name: channel,
    data: { messageId },
    opts: { ...SEND_JOB_OPTIONS, jobId: sendJobId(messageId), ...(delay > 0 ? { delay } : {}) },
  };
}
