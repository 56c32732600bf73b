import { type Credential, cert } from 'firebase-admin/app';
import type { PushConfig } from '../../config/config.js';
import { permanent, type SendResult } from '../send-result.js';
import { cachedAccessToken } from './access-token.js';
import { classifyFcmFailure, fcmErrorOf } from './classify.js';
import { combinePushResults, type PushSendResult } from './combine.js';
import { fcmEndpoint, postFcmMessage } from './fcm-request.js';

export type { PushSendResult } from './combine.js';

/** What the push channel sends (N7): the person's device tokens and the rendered notification. */
export interface PushMessage {
  /** One or more FCM registration tokens of the same person (at most 500). */
  readonly tokens: readonly string[];
  readonly title: string;
  readonly body: string;
  /** FCM data values are strings; `messageId` (the outbox id) lets the app report opens. */
  readonly data: Readonly<Record<string, string>>;
}

export interface PushProvider {
  /** Never throws for a provider outcome; `deadTokens` lists the tokens to invalidate. */
  send(message: PushMessage): Promise<PushSendResult>;
  close(): Promise<void>;
}

export interface PushProviderOptions {
  /** Deadline of one device's send, token fetch included; an unanswered request is then `unknown`. */
  readonly timeoutMs?: number;
  /** The bearer token sent to FCM_API_BASE_URL (the sandbox's static credential). */
  readonly sandboxAccessToken?: string;
  /**
   * Push messages the worker has in flight at most (its hand-off capacity): the agent keeps a socket
   * for each of their device requests, so none waits for one inside the agent.
   */
  readonly maxInFlight?: number;
}

export const DEFAULT_FCM_TIMEOUT_MS = 10_000;
/** Static bearer token used with FCM_API_BASE_URL; the local fake expects it by default. */
export const SANDBOX_ACCESS_TOKEN = 'consentcast-sandbox-access-token';
const FCM_API = new URL('https://fcm.googleapis.com');
const MAX_TOKENS = 500;

function staticToken(token: string): Credential {
  return { getAccessToken: async () => ({ access_token: token, expires_in: 3600 }) };
}

/**
 * The push provider: FCM HTTP v1 `messages:send`, one request per device token, concurrently (FCM
 * v1 has no batch endpoint; `sendEach` too makes one request per token). FCM has one global
 * endpoint, there is no region to choose (docs/residency.md); FCM_API_BASE_URL replaces it (the
 * sandbox, with a static token), otherwise the service account file is read once, here.
 *
 * firebase-admin gives the credential and the access token, and nothing else. Its `send()` cannot
 * be kept from sending a message twice through anything it supports: its HTTP client re-sends
 * after ECONNRESET and its own timeout (the message may well have arrived) and after a 503, with
 * no switch; its host is hard-coded, and the hook we used to reach the request
 * (`enableLegacyHttpTransport()` with an agent that refused the second request) is deprecated in
 * 13.10. So the request is ours (fcm-request.ts): one per send, never repeated but by the caller's
 * decision, on the outcome `classifyFcmResponse` gives (docs/providers.md).
 */
export function createPushProvider(config: PushConfig, options: PushProviderOptions = {}): PushProvider {
  const timeoutMs = options.timeoutMs ?? DEFAULT_FCM_TIMEOUT_MS;
  const sandbox = config.apiBaseUrl === undefined ? undefined : new URL(config.apiBaseUrl);
  let credential: Credential;
  if (sandbox !== undefined) credential = staticToken(options.sandboxAccessToken ?? SANDBOX_ACCESS_TOKEN);
  else if (config.credentialsFile !== undefined) credential = cert(config.credentialsFile);
  else throw new Error('push: GOOGLE_APPLICATION_CREDENTIALS or FCM_API_BASE_URL is required');
  const accessToken = cachedAccessToken(credential);
  // the claim reads at most five live devices of a person (migration 0017): a socket for each
  const endpoint = fcmEndpoint(
    sandbox ?? FCM_API,
    config.projectId,
    Math.max(128, (options.maxInFlight ?? 0) * 5),
  );

  async function sendToDevice(token: string, message: PushMessage): Promise<SendResult> {
    if (token === '')
      return permanent('rejected', 'messaging/invalid-payload', 'fcm: a device token is empty');
    const body = JSON.stringify({
      message: {
        token,
        notification: { title: message.title, body: message.body },
        data: { ...message.data },
      },
    });
    const deadline = AbortSignal.timeout(timeoutMs);
    let bearer: string;
    try {
      bearer = await beforeDeadline(accessToken(), deadline);
    } catch (error) {
      return classifyFcmFailure(fcmErrorOf(error), { requestMade: false, written: false });
    }
    return postFcmMessage(endpoint, bearer, body, deadline);
  }

  return {
    async send(message) {
      if (message.tokens.length === 0 || message.tokens.length > MAX_TOKENS) {
        throw new TypeError(`a push send takes 1-${MAX_TOKENS} tokens, got ${message.tokens.length}`);
      }
      const results = await Promise.all(
        message.tokens.map(async (token) => ({ token, result: await sendToDevice(token, message) })),
      );
      return combinePushResults(results);
    },
    async close() {
      endpoint.agent.destroy();
    },
  };
}

class DeadlineError extends Error {
  override readonly name = 'DeadlineError';
  readonly code = 'timeout';
}

/** The access token, unless the send's deadline passes first (then nothing was sent: retry). */
function beforeDeadline<T>(pending: Promise<T>, deadline: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(new DeadlineError('no access token before the deadline'));
    if (deadline.aborted) onAbort();
    else deadline.addEventListener('abort', onAbort, { once: true });
    pending.then(resolve, reject).finally(() => deadline.removeEventListener('abort', onAbort));
  });
}
