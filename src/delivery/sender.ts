import type { ToSend } from './content.js';

/**
 * What a channel provider answers, classified for "never send twice" (docs/providers.md):
 * - accepted: sent, with the provider's id;
 * - retry: certainly NOT accepted (refused connection, SMTP 4xx, HTTP 429/503) — safe to send again;
 * - unknown: may have been accepted (timeout or reset after writing, ambiguous 5xx) — never again;
 * - permanent: refused for good, with what follows from it.
 */
export type SendResult =
  | { readonly kind: 'accepted'; readonly providerId: string }
  | { readonly kind: 'retry'; readonly code: string; readonly detail: string; readonly retryAfterMs?: number }
  | { readonly kind: 'unknown'; readonly code: string; readonly detail: string }
  | {
      readonly kind: 'permanent';
      readonly reason: 'hard_bounce' | 'invalid_number' | 'dead_token' | 'rejected';
      readonly code: string;
      readonly detail: string;
      /** Push tokens the provider said are dead (each is invalidated). */
      readonly deadTokens?: readonly string[];
    };

/** One per channel, built once from configuration; a test fake is another implementation. */
export interface ChannelSender {
  send(message: ToSend): Promise<SendResult>;
  close(): Promise<void>;
}
