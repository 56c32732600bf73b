import type { ToSend } from '../../src/delivery/content.js';
import type { ChannelSender, SendResult } from '../../src/delivery/sender.js';

/**
 * A ChannelSender that accepts everything and remembers what it was given, in order — another
 * implementation of the provider interface for tests of the worker pipeline (the SDK adapters are
 * tested against wire-level fakes in test/integration/channels).
 */
export class RecordingSender implements ChannelSender {
  readonly delivered: { messageId: number; message: ToSend }[] = [];
  constructor(
    private readonly delayMs = 0,
    readonly capacity = 100,
  ) {}

  async send(message: ToSend): Promise<SendResult> {
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    const id = message.messageId;
    this.delivered.push({ messageId: id, message });
    return { kind: 'accepted', providerId: `fake-${this.delivered.length}` };
  }

  async close(): Promise<void> {}
}
