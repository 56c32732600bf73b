import { AsyncLocalStorage } from 'node:async_hooks';
import https from 'node:https';
import twilio from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient.js';
import type { SmsConfig } from '../../config/config.js';
import { parseRetryAfter } from '../http-attempt.js';
import { accepted, permanent, type SendResult } from '../send-result.js';
import { classifyTwilioFailure, twilioFailureOf } from './classify.js';

/** What the SMS channel sends (N7). */
export interface SmsMessage {
  /** E.164, e.g. +37120000000. */
  readonly to: string;
  readonly body: string;
  /** Where Twilio reports delivery: absolute, or a path resolved against PUBLIC_BASE_URL. */
  readonly statusCallbackUrl: string;
}

export interface SmsProvider {
  /** Never throws for a provider outcome: every failure is classified into a SendResult. */
  send(message: SmsMessage): Promise<SendResult>;
  close(): Promise<void>;
}

export interface SmsProviderOptions {
  /** Whole-request timeout (connect to last byte of the answer). */
  readonly timeoutMs?: number;
  /**
   * Concurrent requests the SDK's https agent opens (the worker's hand-off capacity, so that no
   * request waits for a socket inside the SDK). Node's default agent, used for an http base URL,
   * has no limit.
   */
  readonly maxSockets?: number;
}

export const DEFAULT_TWILIO_TIMEOUT_MS = 15_000;

const E164 = /^\+[1-9]\d{6,14}$/;

/** Headers of the answer to the send in progress (its Retry-After), per async context. */
interface AnswerNote {
  headers?: Record<string, unknown>;
}

/**
 * Twilio's supported transport hook: every REST call goes through `request`. It sends the call to
 * TWILIO_API_BASE_URL when set (a sandbox or the test fake; the path, query and auth stay the
 * same), and notes the answer's headers, which Twilio's exceptions do not keep.
 */
class SmsRequestClient extends twilio.RequestClient {
  readonly #baseUrl: string | undefined;
  readonly #answers: AsyncLocalStorage<AnswerNote>;

  constructor(
    baseUrl: string | undefined,
    answers: AsyncLocalStorage<AnswerNote>,
    options: RequestClient.RequestClientOptions,
  ) {
    super(options);
    this.#baseUrl = baseUrl;
    this.#answers = answers;
  }

  override async request<TData>(opts: RequestClient.RequestOptions<TData>) {
    const uri = this.#baseUrl === undefined ? opts.uri : rebase(opts.uri, this.#baseUrl);
    const response = await super.request({ ...opts, uri });
    const note = this.#answers.getStore();
    if (note !== undefined) note.headers = response.headers;
    return response;
  }
}

function rebase(uri: string, baseUrl: string): string {
  const url = new URL(uri);
  return `${baseUrl.replace(/\/$/, '')}${url.pathname}${url.search}`;
}

function absoluteCallback(url: string, publicBaseUrl: string): string {
  if (/^https?:\/\//i.test(url)) return url;
  return `${publicBaseUrl.replace(/\/$/, '')}/${url.replace(/^\//, '')}`;
}

/**
 * The SMS provider: Twilio's Messages API through the real SDK, in the configured region and edge
 * (EU only, checked at start, N10), from TWILIO_MESSAGING_SERVICE_SID when set, else TWILIO_FROM.
 * SMS_OPT_OUT_TEXT is appended to every body that does not already end with it. The SDK's own
 * 429 retries stay off: BullMQ retries, with backoff, and only what was certainly not accepted.
 */
export function createSmsProvider(
  config: SmsConfig,
  publicBaseUrl: string,
  options: SmsProviderOptions = {},
): SmsProvider {
  const answers = new AsyncLocalStorage<AnswerNote>();
  const httpClient = new SmsRequestClient(config.apiBaseUrl, answers, {
    timeout: options.timeoutMs ?? DEFAULT_TWILIO_TIMEOUT_MS,
    keepAlive: true,
    autoRetry: false,
    ...(options.maxSockets !== undefined ? { maxSockets: options.maxSockets } : {}),
  });
  const client = twilio(config.accountSid, config.authToken, {
    httpClient,
    region: config.region,
    edge: config.edge,
    autoRetry: false,
  });
  const sender = config.messagingServiceSid
    ? { messagingServiceSid: config.messagingServiceSid }
    : { from: config.from ?? '' };
  const optOut = config.optOutText;

  return {
    async send(message) {
      if (!E164.test(message.to)) return permanent('invalid_number', 'E164', 'not an E.164 number');
      const body =
        optOut === undefined || message.body.endsWith(optOut) ? message.body : `${message.body}\n${optOut}`;
      const note: AnswerNote = {};
      try {
        const created = await answers.run(note, () =>
          client.messages.create({
            to: message.to,
            body,
            statusCallback: absoluteCallback(message.statusCallbackUrl, publicBaseUrl),
            ...sender,
          }),
        );
        return accepted(created.sid);
      } catch (error) {
        return classifyTwilioFailure(twilioFailureOf(error), parseRetryAfter(note.headers?.['retry-after']));
      }
    },
    async close() {
      // Idle keep-alive sockets of the SDK's https agent (an http base URL uses Node's global agent).
      const agent: unknown = httpClient.axios.defaults.httpsAgent;
      if (agent instanceof https.Agent) agent.destroy();
    },
  };
}
