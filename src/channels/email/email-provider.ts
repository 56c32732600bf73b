import { createPrivateKey, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import nodemailer from 'nodemailer';
import DKIM from 'nodemailer/lib/dkim';
import type { ControllerIdentity, EmailConfig } from '../../config/config.js';
import { accepted, type SendResult } from '../send-result.js';
import { classifySmtpFailure, smtpFailureOf } from './classify.js';
import { DataStreamWatch } from './data-stream-watch.js';

/** What the e-mail channel sends (N7): the address, the rendered content and the caller's headers. */
export interface EmailMessage {
  /** The outbox message id: carried in MESSAGE_REF_HEADER and the Message-ID, for tracing. */
  readonly messageId: number;
  readonly to: string;
  readonly subject: string;
  readonly html: string;
  readonly text: string;
  /** Extra headers, e.g. List-Unsubscribe and List-Unsubscribe-Post (RFC 8058). */
  readonly headers: Readonly<Record<string, string>>;
}

export interface EmailProvider {
  /** Never throws for a provider outcome: every failure is classified into a SendResult. */
  send(message: EmailMessage): Promise<SendResult>;
  /** Closes idle connections; sends in flight finish first. */
  close(): Promise<void>;
}

/** Header that carries the outbox message id, so a delivery can be traced back to its row. */
export const MESSAGE_REF_HEADER = 'X-Consentcast-Message';

export interface SmtpTimeouts {
  /** Connecting, DNS lookup included. */
  readonly connectionMs: number;
  /** From connected to the server's greeting. */
  readonly greetingMs: number;
  /** Silence on an open connection, e.g. no reply to the end of the message. */
  readonly socketMs: number;
  readonly dnsMs: number;
}

export const DEFAULT_SMTP_TIMEOUTS: SmtpTimeouts = {
  connectionMs: 10_000,
  greetingMs: 10_000,
  socketMs: 30_000,
  dnsMs: 5_000,
};

export interface EmailProviderOptions {
  readonly timeouts?: Partial<SmtpTimeouts>;
  /** Open SMTP connections of this process (nodemailer pool). */
  readonly maxConnections?: number;
}

/** Headers the provider owns; a caller setting one is a programming error. */
const RESERVED_HEADERS: ReadonlySet<string> = new Set([
  'from',
  'to',
  'cc',
  'bcc',
  'subject',
  'message-id',
  'date',
  'dkim-signature',
  'sender',
  MESSAGE_REF_HEADER.toLowerCase(),
]);

/** The queue id a server names in its 250 reply ("250 2.0.0 Ok: queued as 4ZxK3d1Zq9"). */
export function queueIdOf(response: string): string | undefined {
  return /queued as\s+<?([^\s<>;]+)>?/i.exec(response)?.[1];
}

function domainOf(from: string): string {
  return /@([^\s<>@]+)>?\s*$/.exec(from)?.[1] ?? 'localhost';
}

function dkimSigner(dkim: NonNullable<EmailConfig['dkim']>): DKIM {
  const privateKey = readFileSync(dkim.privateKeyFile, 'utf8');
  // Fail at start on an unreadable key rather than on the first message.
  createPrivateKey(privateKey);
  return new DKIM({ domainName: dkim.domain, keySelector: dkim.selector, privateKey });
}

/**
 * The e-mail provider: nodemailer's SMTP pool to SMTP_URL, From = MAIL_FROM, Reply-To = the
 * controller's support address (N2: questions, and withdrawals by e-mail, go there), DKIM-signed
 * when DKIM_* are set (the key is read once, here). DKIM signing runs in our stream plugin rather
 * than nodemailer's `dkim` option so that the DataStreamWatch stays the last stage before DATA.
 */
export function createEmailProvider(
  config: EmailConfig,
  controller: ControllerIdentity,
  options: EmailProviderOptions = {},
): EmailProvider {
  const timeouts = { ...DEFAULT_SMTP_TIMEOUTS, ...options.timeouts };
  const signer = config.dkim ? dkimSigner(config.dkim) : undefined;
  const transporter = nodemailer.createTransport({
    url: config.smtpUrl,
    pool: true,
    maxConnections: options.maxConnections ?? 5,
    maxMessages: 100,
    connectionTimeout: timeouts.connectionMs,
    greetingTimeout: timeouts.greetingMs,
    socketTimeout: timeouts.socketMs,
    dnsTimeout: timeouts.dnsMs,
    // nodemailer logs recipients; nothing of it may reach our logs (N16).
    logger: false,
    debug: false,
  });
  // Failures reach each send's callback and are classified there; this only keeps an 'error'
  // event without a listener from ending the process.
  transporter.on('error', () => undefined);
  // Each send registers its watch under the Message-ID it generated; the stream plugin finds it.
  const watches = new Map<string, DataStreamWatch>();
  transporter.use('stream', (mail, done) => {
    if (signer !== undefined) mail.message.processFunc((input) => signer.sign(input));
    const watch = watches.get(mail.message.messageId());
    if (watch !== undefined) mail.message.processFunc((input) => watch.wrap(input));
    done();
  });
  const domain = domainOf(config.from);

  return {
    async send(message) {
      const callerHeaders = Object.keys(message.headers).map((h) => h.toLowerCase());
      const reserved = callerHeaders.find((h) => RESERVED_HEADERS.has(h));
      if (reserved !== undefined) throw new TypeError(`header "${reserved}" is set by the e-mail provider`);
      const watch = new DataStreamWatch();
      const messageId = `<${randomUUID()}.m${message.messageId}@${domain}>`;
      watches.set(messageId, watch);
      try {
        const info = await transporter.sendMail({
          from: config.from,
          to: message.to,
          subject: message.subject,
          text: message.text,
          html: message.html,
          messageId,
          ...(callerHeaders.includes('reply-to') ? {} : { replyTo: controller.supportEmail }),
          headers: {
            ...message.headers,
            [MESSAGE_REF_HEADER]: String(message.messageId),
            Organization: controller.name,
          },
        });
        return accepted(queueIdOf(info.response) ?? info.messageId);
      } catch (error) {
        return classifySmtpFailure(smtpFailureOf(error), watch.messageFullyStreamed);
      } finally {
        watches.delete(messageId);
      }
    },
    async close() {
      transporter.close();
    },
  };
}
