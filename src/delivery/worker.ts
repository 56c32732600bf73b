import { DelayedError, type Job, UnrecoverableError, Worker } from 'bullmq';
import type { Deps } from '../deps.js';
import type { Channel } from '../domain/vocabulary.js';
import { scrubText } from '../logging/scrub.js';
import { type SendOutcome, sendMetrics } from '../metrics/process-metrics.js';
import { SEND_QUEUES } from '../queue/names.js';
import { closeRedis, createRedis } from '../queue/redis.js';
import { parseSendJob } from '../queue/send-jobs.js';
import { createBatcher } from './batcher.js';
import { type ClaimOutcome, claimBatch } from './claim.js';
import { createContentRenderer, type Prepared } from './content.js';
import { Gate, type HandoffKey, markHandoffs, renewLeases } from './handoff.js';
import { invalidateDevice, type Outcome, recordOutcomes } from './record.js';
import { SendPace } from './send-pace.js';
import type { ChannelSender, SendResult } from './sender.js';

export interface ChannelWorkerOptions {
  readonly concurrency: number;
  /** Sends per second across every worker of this channel (BullMQ's global limiter). */
  readonly ratePerSecond: number;
  readonly leaseSeconds: number;
  /** After this many "certainly not accepted" answers in a row the queue cools down instead. */
  readonly failureStreak: number;
  readonly coolDownMs: number;
  readonly onSent?: (channel: Channel, messageId: number) => void;
  /** Each provider call's start, this many milliseconds after its claim committed (benchmarks). */
  readonly onHandoff?: (channel: Channel, claimToHandoffMs: number) => void;
}

/**
 * A worker claims ahead only what its sender slots can start within this time (N13: the re-check stays
 * a few tens of milliseconds before the send at most; issue 12 asks p99 ≤ 250 ms).
 */
export const LOOKAHEAD_BUDGET_MS = 50;
/** How long a claim batch gathers while the look-ahead keeps claimed messages queued for slots. */
const LOOKAHEAD_GATHER_MS = 25;
/** At most this many sends per slot are claimed ahead, however quick the sends. */
const LOOKAHEAD_MAX_SENDS = 10;

/** How many sends per sender slot may be claimed ahead, from how long sends take lately. */
export function lookaheadSends(pace: SendPace): number {
  const ms = pace.averageMs();
  if (ms === undefined) return 0;
  return Math.min(LOOKAHEAD_MAX_SENDS, Math.floor(LOOKAHEAD_BUDGET_MS / Math.max(ms, 0.001)));
}

export const DEFAULT_WORKER_OPTIONS: Omit<ChannelWorkerOptions, 'concurrency' | 'ratePerSecond'> = {
  leaseSeconds: 20,
  failureStreak: 20,
  coolDownMs: 30_000,
};

/** A job's claim and, when it was claimed, its rendered message, claim batch and commit time. */
interface Claimed {
  readonly claim: ClaimOutcome;
  readonly prepared?: Prepared;
  readonly batch?: number;
  /** performance.now() when the claim statement answered (it commits as it answers). */
  readonly claimedAt: number;
}

/** What one job did, returned as the job's result (ids and words only). */
export type JobResult =
  | { readonly messageId: number; readonly result: 'sent' | 'indeterminate' | 'failed' | 'not_queued' }
  | { readonly messageId: number; readonly result: 'skipped'; readonly reason: string };

/** The metric outcome of a recorded outcome: a retry on the last attempt ends the message as failed. */
function metricOutcome(outcome: Outcome): SendOutcome {
  if (outcome.kind === 'retry') return outcome.lastAttempt ? 'failed' : 'retried';
  return outcome.kind;
}

function toOutcome(result: SendResult, lastAttempt: boolean): Outcome {
  switch (result.kind) {
    case 'accepted':
      return { kind: 'sent', providerId: result.providerId };
    case 'retry':
      return { kind: 'retry', code: result.code, detail: scrubText(result.detail), lastAttempt };
    case 'unknown':
      return { kind: 'indeterminate', code: result.code, detail: scrubText(result.detail) };
    case 'permanent':
      return {
        kind: 'failed',
        code: result.code,
        detail: scrubText(result.detail),
        ...(result.reason === 'hard_bounce' || result.reason === 'invalid_number'
          ? { suppress: result.reason }
          : {}),
      };
  }
}

/** The same error (its class decides BullMQ's handling), with its message and stack scrubbed (N16). */
function scrubThrown(err: unknown): Error {
  if (!(err instanceof Error)) return new Error(scrubText(String(err)));
  err.message = scrubText(err.message);
  if (err.stack !== undefined) err.stack = scrubText(err.stack);
  return err;
}

/**
 * A channel worker: claim and re-check (batched), load and render only what the channel needs,
 * send through the provider, record the outcome (batched). Retries happen only when the provider
 * certainly did not accept the message; everything else ends the message.
 */
export function startChannelWorker(
  deps: Deps,
  channel: Channel,
  sender: ChannelSender,
  options: ChannelWorkerOptions,
) {
  const { db, pool, config, logger } = deps;
  const log = logger.child({ channel });
  const settings = { leaseSeconds: options.leaseSeconds, pausedRetrySeconds: 15, policy: config.policy };
  const render = createContentRenderer(db, config);
  // Batches gather for a share of what sends take (send-pace.ts): one turn of the event loop with
  // quick sends, a few milliseconds with SMTP, so slow channels do not pay a statement per message.
  const pace = new SendPace();
  const gatherMs = () => pace.gatherMs();
  // Only as many jobs as the sender can hand off at once go on to claim (N13): the others wait here,
  // unclaimed, so no claimed message waits inside an SMTP pool or an HTTP agent for long. While
  // sends are quick, a worker claims ahead what its sender slots can start within LOOKAHEAD_BUDGET_MS
  // (a few sends per slot), so that claims go out in batches and their round trips overlap the sends
  // in flight; slow sends (a relay taking 200 ms a message) get no look-ahead at all.
  const capacity = Math.min(sender.capacity, options.concurrency);
  const sendSlots = new Gate(() => capacity);
  // Only where the sender is the bottleneck (fewer slots than jobs in hand, as with SMTP) does a
  // look-ahead apply; then claims and records gather longer, since claimed messages queue for slots.
  const senderBound = capacity < options.concurrency;
  const lookahead = () => (senderBound ? lookaheadSends(pace) : 0);
  const claimGate = new Gate(() => capacity * (1 + lookahead()));
  const claimGatherMs = () => (lookahead() > 0 ? LOOKAHEAD_GATHER_MS : gatherMs());
  // Claim (which also reads what the channel sends with), then render what was claimed, in one
  // batch: the jobs of a batch go on to their sends together, without gathering again.
  const claims = createBatcher<number, Claimed>(
    async (ids) => {
      const results = await claimBatch(pool, channel, ids, settings);
      const claimedAt = performance.now();
      const fields = results.flatMap((r) => (r.fields === undefined ? [] : [r.fields]));
      const prepared = fields.length === 0 ? [] : await render(channel, fields);
      const byId = new Map(fields.map((f, i) => [f.id, prepared[i]]));
      return results.map(({ claim, fields: f, batch }) => {
        const p = claim.kind === 'claimed' && f !== undefined ? byId.get(f.id) : undefined;
        return {
          claim,
          claimedAt,
          ...(p === undefined ? {} : { prepared: p }),
          ...(batch === undefined ? {} : { batch }),
        };
      });
    },
    // With a look-ahead, claimed messages queue for the sender slots, so a claim batch may gather
    // longer without leaving a slot idle: fewer, larger claims (the wait comes before the claim,
    // so it does not add to claim-to-hand-off).
    { maxWaitMs: claimGatherMs, maxSize: 200 },
  );
  // Each message's hand-off mark commits before its provider call starts; the messages that get a
  // sender slot together share one statement.
  const marks = createBatcher<HandoffKey, boolean>((keys) => markHandoffs(pool, keys), {
    maxWaitMs: 0,
    maxSize: 200,
  });
  // Messages claimed and not yet recorded: their leases renew while this process lives, so a lease
  // can be short and a dead worker's messages are settled soon (the reconciler).
  const inFlight = new Set<number>();
  const renewal = setInterval(
    () => {
      renewLeases(pool, [...inFlight], options.leaseSeconds).catch((err: unknown) =>
        log.warn({ err }, 'could not renew the leases of messages in flight; will try again'),
      );
    },
    Math.max(500, (options.leaseSeconds * 1000) / 3),
  );
  renewal.unref();
  // Records gather like claims: with a look-ahead the sends come back one by one, and a record
  // statement per message would cost more than the send (it does not hold a sender slot).
  const records = createBatcher<{ id: number; outcome: Outcome }, unknown>(
    (items) => recordOutcomes(pool, items),
    { maxWaitMs: claimGatherMs, maxSize: 200 },
  );
  let streak = 0;

  /** The provider call, timed from the claim (claim-to-hand-off) and by itself (the send pace). */
  const send = async (
    prepared: Extract<Prepared, { ok: true }>,
    claimedAt: number,
    id: number,
  ): Promise<SendResult> => {
    const sendStarted = performance.now();
    const handoffMs = sendStarted - claimedAt;
    sendMetrics.handoff(channel, handoffMs / 1000);
    options.onHandoff?.(channel, handoffMs);
    try {
      const result = await sender.send(prepared.message);
      pace.observe(performance.now() - sendStarted);
      return result;
    } catch (err) {
      // Providers answer outcomes as values; a throw is a fault of ours, and bytes may have left.
      log.error({ err, messageId: id }, 'provider threw; the message is indeterminate');
      return {
        kind: 'unknown',
        code: 'sender_error',
        detail: err instanceof Error ? err.message : String(err),
      };
    }
  };

  const connection = createRedis(config.redis.url, 'worker', logger);
  const handle = async (job: Job, token?: string): Promise<JobResult> => {
    const data = parseSendJob(job.data);
    if (!data) throw new UnrecoverableError('send job payload is not { messageId }');
    const id = data.messageId;
    const leaveGate = await claimGate.acquire();
    let sent: { result: SendResult; claimedAt: number };
    try {
      const { claim, prepared: loaded, batch, claimedAt } = await claims.submit(id);
      if (claim.kind === 'not_queued') return { messageId: id, result: 'not_queued' };
      if (claim.kind === 'skipped') {
        sendMetrics.skipped(channel, claim.reason);
        return { messageId: id, result: 'skipped', reason: claim.reason };
      }
      if (claim.kind === 'deferred') {
        await job.moveToDelayed(claim.until.getTime(), token);
        throw new DelayedError();
      }
      inFlight.add(id);
      const prepared: Prepared = loaded ?? { ok: false, reason: 'no_contact' };
      if (!prepared.ok) {
        sendMetrics.outcome(channel, 'failed');
        await records.submit({
          id,
          outcome: {
            kind: 'failed',
            code: prepared.reason,
            detail: `cannot build the message: ${prepared.reason}`,
          },
        });
        inFlight.delete(id);
        return { messageId: id, result: 'failed' };
      }
      const leaveSlot = await sendSlots.acquire();
      try {
        // The mark commits before the provider call starts; if the reconciler released the message
        // first (this worker was too slow for its lease), it is `queued` again and not ours to send.
        if (batch === undefined || !(await marks.submit({ batch, messageId: id }))) {
          inFlight.delete(id);
          log.warn({ messageId: id }, 'claim released by the reconciler before its hand-off; not sending');
          return { messageId: id, result: 'not_queued' };
        }
        sent = { result: await send(prepared, claimedAt, id), claimedAt };
      } finally {
        leaveSlot();
      }
    } finally {
      leaveGate();
    }
    const { result, claimedAt } = sent;
    const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    const outcome = toOutcome(result, lastAttempt);
    sendMetrics.attempt(channel, metricOutcome(outcome), (performance.now() - claimedAt) / 1000);
    await records.submit({ id, outcome }).finally(() => inFlight.delete(id));
    // Push names dead tokens whatever the outcome: one device may accept while another's token died.
    for (const t of result.deadTokens ?? []) {
      const code = result.kind === 'accepted' ? '' : result.code;
      await invalidateDevice(db, t, /invalid/.test(code) ? 'invalid_argument' : 'unregistered');
    }
    if (outcome.kind === 'retry') {
      streak += 1;
      // The provider asked for a pause (HTTP 429 Retry-After): the whole queue honours it.
      if (result.kind === 'retry' && result.retryAfterMs !== undefined && result.retryAfterMs > 0) {
        await worker.rateLimit(Math.min(result.retryAfterMs, 60_000));
      }
      if (streak >= options.failureStreak) {
        streak = 0;
        log.warn({ coolDownMs: options.coolDownMs }, 'provider keeps refusing: cooling the queue down');
        await worker.rateLimit(options.coolDownMs);
      }
      if (!lastAttempt) throw new Error(`provider did not accept the message (${outcome.code}); retrying`);
      // Out of attempts: the message is recorded `failed`; the job ends in BullMQ's failed set (kept
      // for `removeOnFail`) so that operators see it there too.
      throw new UnrecoverableError(
        `provider did not accept the message (${outcome.code}) on its last attempt; message ${id} failed`,
      );
    }
    streak = 0;
    if (outcome.kind === 'sent') options.onSent?.(channel, id);
    return {
      messageId: id,
      result:
        outcome.kind === 'sent' ? 'sent' : outcome.kind === 'indeterminate' ? 'indeterminate' : 'failed',
    };
  };
  const worker: Worker = new Worker(
    SEND_QUEUES[channel],
    // BullMQ keeps a thrown error's message (failedReason) and stack in Redis and in its event stream:
    // both are scrubbed first, whatever threw (a database error may quote a value).
    (job: Job, token?: string) =>
      handle(job, token).catch((err: unknown) => {
        throw scrubThrown(err);
      }),
    {
      connection,
      prefix: config.redis.queuePrefix,
      // jobs in hand: waiting for the claim gate, claimed, sending, or being recorded
      concurrency: options.concurrency,
      limiter: { max: options.ratePerSecond, duration: 1000 },
      // A job whose worker died comes back after its lock lapses; its message is then `sending` and
      // the job is acknowledged without a send (the reconciler settles the message after its lease).
      lockDuration: Math.min(30_000, Math.max(1_000, (options.leaseSeconds * 1000) / 2)),
      stalledInterval: Math.min(30_000, Math.max(1_000, (options.leaseSeconds * 1000) / 2)),
      // Running a stalled job again is always safe (its claim finds the message taken, or claims a
      // message that was never handed off): a worker that dies twice in a row must not leave jobs
      // failed — and their queued messages waiting — for BullMQ's default of one stall.
      maxStalledCount: 20,
    },
  );
  worker.on('error', (err) => log.warn({ err }, 'channel worker error'));
  return {
    worker,
    async stop(): Promise<void> {
      await worker.close();
      clearInterval(renewal);
      await Promise.all([claims.flush(), marks.flush(), records.flush()]);
      await sender.close();
      await closeRedis(connection);
    },
  };
}
