import { randomUUID } from 'node:crypto';
import { type Credential, cert, deleteApp, initializeApp } from 'firebase-admin/app';
import { getMessaging } from 'firebase-admin/messaging';
import type { PushConfig } from '../../config/config.js';
import { accepted, type SendResult } from '../send-result.js';
import { classifyFcmFailure, fcmErrorOf } from './classify.js';
import { combinePushResults, type PushSendResult } from './combine.js';
import { FcmAgent } from './fcm-agent.js';
import { SendAttempt, sendAttempts } from './send-attempt.js';

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
  /** Deadline of one device's send, token fetch included. firebase-admin's own is 15 s. */
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
const MAX_TOKENS = 500;

function staticToken(token: string): Credential {
  return { getAccessToken: async () => ({ access_token: token, expires_in: 3600 }) };
}

/**
 * The push provider: firebase-admin's Messaging on its own named app, HTTP/1.1 through FcmAgent
 * (FCM has one global endpoint; there is no region to choose, see docs/residency.md). With
 * FCM_API_BASE_URL the agent connects there and the credential is a static token; otherwise the
 * service account file (read once, here).
 *
 * One `send()` per device token, concurrently, rather than `sendEach`: FCM v1 has no batch
 * endpoint, so `sendEach` also makes one HTTP request per token; separate sends give each request
 * its own SendAttempt, which is what stops the SDK's re-sends and classifies each answer.
 */
export function createPushProvider(config: PushConfig, options: PushProviderOptions = {}): PushProvider {
  const timeoutMs = options.timeoutMs ?? DEFAULT_FCM_TIMEOUT_MS;
  const target = config.apiBaseUrl === undefined ? undefined : new URL(config.apiBaseUrl);
  const agent = new FcmAgent(target, {
    keepAlive: true,
    // the claim reads at most five live devices of a person (migration 0017)
    maxSockets: Math.max(128, (options.maxInFlight ?? 0) * 5),
  });
  let credential: Credential;
  if (target !== undefined) credential = staticToken(options.sandboxAccessToken ?? SANDBOX_ACCESS_TOKEN);
  else if (config.credentialsFile !== undefined) credential = cert(config.credentialsFile);
  else throw new Error('push: GOOGLE_APPLICATION_CREDENTIALS or FCM_API_BASE_URL is required');
  const app = initializeApp(
    { projectId: config.projectId, credential, httpAgent: agent },
    `consentcast-push-${randomUUID()}`,
  );
  const messaging = getMessaging(app);
  // send() is HTTP/1.1 already; this keeps any sendEach on the same agent instead of HTTP/2.
  messaging.enableLegacyHttpTransport();

  async function sendToDevice(token: string, message: PushMessage): Promise<SendResult> {
    const attempt = new SendAttempt(timeoutMs);
    const sent = sendAttempts.run(attempt, () =>
      messaging.send({
        token,
        notification: { title: message.title, body: message.body },
        data: { ...message.data },
      }),
    );
    // Whichever answers last is ignored; its rejection must not go unhandled.
    sent.catch(() => undefined);
    try {
      return await Promise.race([
        sent.then(
          (name) => accepted(name),
          (error: unknown) => classifyFcmFailure(fcmErrorOf(error), attempt.answer()),
        ),
        attempt.early,
      ]);
    } finally {
      attempt.finish();
    }
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
      await deleteApp(app);
      agent.destroy();
    },
  };
}
