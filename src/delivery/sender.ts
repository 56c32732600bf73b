import type { SendResult as ProviderResult } from '../channels/send-result.js';
import type { ToSend } from './content.js';

/**
 * What a channel provider answers, classified for "never send twice" (docs/providers.md):
 * accepted; retry (certainly NOT accepted — safe to send again); unknown (may have been accepted —
 * never again); permanent (refused for good, with what follows from it). Push may also name dead
 * device tokens, whatever the outcome (one device accepted, another's token is dead).
 */
export type SendResult = ProviderResult & { readonly deadTokens?: readonly string[] };

/** One per channel, built once from configuration; a test fake is another implementation. */
export interface ChannelSender {
  /**
   * How many sends this sender can start at once without queueing any of them inside itself (open
   * SMTP connections, HTTP sockets). The worker claims a message only while one of these is free.
   */
  readonly capacity: number;
  send(message: ToSend): Promise<SendResult>;
  close(): Promise<void>;
}
