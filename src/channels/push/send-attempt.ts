import { AsyncLocalStorage } from 'node:async_hooks';
import type { ClientRequest } from 'node:http';
import { parseRetryAfter } from '../http-attempt.js';
import type { SendResult } from '../send-result.js';
import { classifyFcmFailure, type FcmAnswer } from './classify.js';

/** Thrown into firebase-admin when it tries to send the same message a second time. */
export class ResendRefusedError extends Error {
  override readonly name = 'ResendRefusedError';
  /** Not one of the codes firebase-admin retries on, so the SDK gives up at once. */
  readonly code = 'ERR_CONSENTCAST_RESEND_REFUSED';
  constructor() {
    super('a second HTTP request for the same push send was refused');
  }
}

/**
 * One push send allows exactly one HTTP request. firebase-admin retries by itself, with no
 * public switch, after a reset socket or its own timeout (ECONNRESET, ETIMEDOUT: the request may
 * well have been delivered) and after a 503, with backoff. FcmAgent asks the attempt of the
 * current async context to admit each `messages:send` request; the second is refused by
 * throwing, which the SDK does not retry. The attempt also watches its request, so it can answer
 * at once when the SDK would start its backoff, or when the send's own deadline passes.
 */
export class SendAttempt {
  #request: ClientRequest | undefined;
  #status: number | undefined;
  #retryAfterMs: number | undefined;
  #closed = false;
  #timer: NodeJS.Timeout | undefined;
  #settle: (result: SendResult) => void = () => undefined;
  /** Settles only where the SDK's own answer would come late: see above. */
  readonly early: Promise<SendResult>;

  constructor(timeoutMs: number) {
    this.early = new Promise((resolve) => {
      this.#settle = resolve;
    });
    this.#timer = setTimeout(() => {
      this.#settle(
        classifyFcmFailure(
          { message: `no answer within ${timeoutMs} ms`, code: 'timeout' },
          this.answer(false),
        ),
      );
      this.finish();
    }, timeoutMs);
  }

  /** Called by FcmAgent for every `messages:send` request made in this attempt's context. */
  admit(request: ClientRequest): void {
    if (this.#request !== undefined || this.#closed) throw new ResendRefusedError();
    this.#request = request;
    request.once('response', (response) => {
      this.#status = response.statusCode;
      this.#retryAfterMs = parseRetryAfter(response.headers['retry-after']);
      // The SDK would wait and send again; the answer is already clear: not accepted.
      if (response.statusCode === 503) {
        this.#settle(classifyFcmFailure({ message: 'service unavailable' }, this.answer()));
      }
    });
    request.once('error', (error: NodeJS.ErrnoException) =>
      this.#transportFailure(error.message, error.code),
    );
    request.once('close', () => this.#transportFailure('connection closed without an answer'));
  }

  #transportFailure(message: string, code?: string): void {
    if (this.#status !== undefined) return;
    this.#settle(classifyFcmFailure({ message, ...(code !== undefined ? { code } : {}) }, this.answer()));
  }

  /** What became of the request so far; `withStatus: false` reads a late answer as none. */
  answer(withStatus = true): FcmAnswer {
    return {
      requestMade: this.#request !== undefined,
      written: this.#request?.writableFinished === true,
      ...(withStatus && this.#status !== undefined ? { status: this.#status } : {}),
      ...(this.#retryAfterMs !== undefined ? { retryAfterMs: this.#retryAfterMs } : {}),
    };
  }

  /** No more requests for this send; a request still waiting for its answer is abandoned. */
  finish(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    const request = this.#request;
    if (request !== undefined && this.#status === undefined && !request.destroyed) request.destroy();
  }
}

/** The attempt of the push send running in the current async context. */
export const sendAttempts = new AsyncLocalStorage<SendAttempt>();
