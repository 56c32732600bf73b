import { PassThrough, type Readable } from 'node:stream';

/**
 * Watches the message bytes of one send on their way into the SMTP DATA stream. It is installed
 * as the last stage of the message stream (after DKIM signing), so the stream it hands out is the
 * one the SMTP connection reads: that stream has ended exactly when the whole message went into
 * DATA, and the end-of-data mark is only written after it. Until then the server cannot have
 * accepted the message. nodemailer's pool may start over on a fresh connection when not a byte
 * was read; the watch then follows the newest stream.
 */
export class DataStreamWatch {
  #stream: PassThrough | undefined;

  wrap(input: Readable): Readable {
    const output = new PassThrough();
    // A process function reports the errors of its input on its output (nodemailer's contract).
    input.once('error', (err) => output.destroy(err));
    input.pipe(output);
    this.#stream = output;
    return output;
  }

  /** The SMTP connection read the whole message. */
  get messageFullyStreamed(): boolean {
    return this.#stream?.readableEnded === true;
  }
}
