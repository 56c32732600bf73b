import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';
import { MESSAGE_REF_HEADER } from '../../src/channels/email/email-provider.js';
import { contentHash, type DeliveryLog } from './delivery-log.js';
import { type Fault, FaultRules } from './faults.js';
import { OpenRequests } from './open-requests.js';

/** A message as the sink received it, kept in memory for assertions (DKIM, headers, body). */
export interface ReceivedMail {
  readonly queueId: string;
  readonly envelopeFrom: string;
  readonly to: string;
  /** Raw header values by lower-case name (unfolded); repeated headers keep the first. */
  readonly headers: Readonly<Record<string, string>>;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
  readonly raw: string;
}

export interface SmtpSinkOptions {
  readonly log: DeliveryLog;
  readonly port?: number;
  readonly host?: string;
}

export interface SmtpSink {
  readonly port: number;
  readonly faults: FaultRules;
  /** Messages whose call is open: from MAIL FROM until the answer that ends it (held ones among them). */
  readonly open: OpenRequests;
  readonly received: readonly ReceivedMail[];
  close(): Promise<void>;
}

/** Headers written to the delivery log: the ones the tests and the demo look at. */
const LOGGED_HEADERS = ['list-unsubscribe', 'list-unsubscribe-post', 'from', 'reply-to', 'message-id'];

class SmtpReplyError extends Error {
  constructor(
    message: string,
    readonly responseCode: number,
  ) {
    super(message);
  }
}

function replyError(fault: Extract<Fault, { type: 'error' }>, to: string): SmtpReplyError {
  const status = fault.code ?? (fault.status >= 500 ? '5.1.1' : '4.2.0');
  // Like a real MTA, the reply names the address: the provider must scrub it.
  const text =
    fault.message ??
    (fault.status >= 500 ? `<${to}>: Recipient address rejected` : `<${to}>: Try again later`);
  return new SmtpReplyError(`${status} ${text}`, fault.status);
}

function headerValues(lines: readonly { key: string; line: string }[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { key, line } of lines) {
    if (out[key] !== undefined) continue;
    out[key] = line
      .slice(line.indexOf(':') + 1)
      .replace(/\r?\n[ \t]+/g, ' ')
      .trim();
  }
  return out;
}

/**
 * An SMTP sink (smtp-server + mailparser) that takes every message, logs it, and injects the
 * failures its fault rules ask for: a 4xx/5xx reply at RCPT TO or after DATA, a late reply, or a
 * connection cut after the message arrived, or no reply until released (a held message).
 * STARTTLS is not offered (plain SMTP on loopback).
 */
export async function startSmtpSink(options: SmtpSinkOptions): Promise<SmtpSink> {
  const faults = new FaultRules();
  const received: ReceivedMail[] = [];
  const { log } = options;
  const open = new OpenRequests();
  // Each connection's open call: a message's transaction, MAIL FROM to the reply that ends it.
  const calls = new Map<string, () => void>();
  const endCall = (session: SMTPServerSession) => {
    calls.get(session.id)?.();
    calls.delete(session.id);
  };

  const server: SMTPServer = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    disableReverseLookup: true,
    logger: false,
    size: 10 * 1024 * 1024,
    onAuth(_auth, _session, callback) {
      callback(null, { user: 'sink' });
    },
    onMailFrom(_address, session, callback) {
      endCall(session);
      calls.set(session.id, open.begin());
      callback();
    },
    onRcptTo(address, session, callback) {
      const fault = faults.take(address.address, 'rcpt');
      if (fault?.type === 'error') {
        log.record({
          channel: 'email',
          to: address.address,
          providerId: null,
          messageId: null,
          contentHash: '',
          headers: {},
          handling: 'rejected',
          status: fault.status,
        });
        callback(replyError(fault, address.address));
        endCall(session);
        return;
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        simpleParser(raw).then(
          (mail) =>
            handleMessage(session, raw.toString('utf8'), mail, (err, message) => {
              callback(err, message);
              endCall(session);
            }),
          (err: unknown) => {
            callback(err instanceof Error ? err : new Error(String(err)));
            endCall(session);
          },
        );
      });
    },
    onClose(session) {
      endCall(session);
    },
  });

  function handleMessage(
    session: SMTPServerSession,
    raw: string,
    mail: Awaited<ReturnType<typeof simpleParser>>,
    callback: (err?: Error | null, message?: string) => void,
  ): void {
    const to = session.envelope.rcptTo[0]?.address ?? '';
    const headers = headerValues(mail.headerLines);
    const fault = faults.take(to, 'data');
    const queueId = randomBytes(6).toString('hex').toUpperCase();
    const html = typeof mail.html === 'string' ? mail.html : '';
    const logged: Record<string, string> = {};
    for (const name of LOGGED_HEADERS) {
      const value = headers[name];
      if (value !== undefined) logged[name] = value;
    }
    if (headers['dkim-signature'] !== undefined) logged['dkim-signature'] = 'present';
    const entry = {
      channel: 'email' as const,
      to,
      messageId: headers[MESSAGE_REF_HEADER.toLowerCase()] ?? null,
      contentHash: contentHash(mail.subject ?? '', mail.text ?? '', html),
      headers: logged,
    };
    if (fault?.type === 'error') {
      log.record({ ...entry, providerId: null, handling: 'rejected', status: fault.status });
      callback(replyError(fault, to));
      return;
    }
    const mailFrom = session.envelope.mailFrom;
    received.push({
      queueId,
      envelopeFrom: mailFrom === false ? '' : mailFrom.address,
      to,
      headers,
      subject: mail.subject ?? '',
      text: mail.text ?? '',
      html,
      raw,
    });
    const reply = `Ok: queued as ${queueId}`;
    const socket = [...server.connections].find((c) => c.id === session.id)?._socket;
    if (fault?.type === 'drop') {
      log.record({ ...entry, providerId: queueId, handling: 'dropped' });
      socket?.destroy();
      return;
    }
    if (fault?.type === 'hold') {
      log.record({ ...entry, providerId: queueId, handling: 'held' });
      // Answered when released; a client that went away gets nothing (its close ends the call).
      if (socket === undefined) return;
      open.hold(socket).then((how) => {
        if (how === 'released') callback(null, reply);
      });
      return;
    }
    if (fault?.type === 'delay') {
      log.record({ ...entry, providerId: queueId, handling: 'delayed' });
      setTimeout(() => callback(null, reply), fault.ms);
      return;
    }
    log.record({ ...entry, providerId: queueId, handling: 'accepted' });
    callback(null, reply);
  }

  // A client that vanishes mid-conversation (a killed worker process) resets its socket: normal for a
  // server, and smtp-server reports it as an 'error' event, which would otherwise be uncaught.
  server.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE')
      process.stderr.write(`smtp sink error: ${err.code ?? err.message}\n`);
  });
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    faults,
    open,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        for (const connection of server.connections) connection._socket.destroy();
        server.close(() => resolve());
      }),
  };
}
