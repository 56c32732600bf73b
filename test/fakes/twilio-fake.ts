import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { contentHash, type DeliveryLog } from './delivery-log.js';
import { type Fault, FaultRules } from './faults.js';
import {
  closeServer,
  delay,
  dropConnection,
  listen,
  readBody,
  retryAfterHeader,
  sendJson,
} from './http-util.js';
import { OpenRequests } from './open-requests.js';

export interface TwilioFakeOptions {
  readonly log: DeliveryLog;
  readonly accountSid: string;
  readonly authToken: string;
  readonly port?: number;
  readonly host?: string;
}

/** One request as the fake received it, for assertions (auth header and form fields). */
export interface TwilioRequest {
  readonly path: string;
  readonly authorization: string | undefined;
  readonly form: Readonly<Record<string, string>>;
}

export interface TwilioFake {
  readonly port: number;
  readonly baseUrl: string;
  readonly faults: FaultRules;
  /** Requests started and not yet answered (held ones among them). */
  readonly open: OpenRequests;
  readonly requests: readonly TwilioRequest[];
  close(): Promise<void>;
}

const MESSAGES_PATH = /^\/2010-04-01\/Accounts\/(AC[0-9a-fA-F]{32})\/Messages\.json$/;

/** Default texts of Twilio's errors; the 21211 one names the number, as Twilio's does. */
function errorText(status: number, code: number, to: string): string {
  if (code === 21211) return `The 'To' number ${to} is not a valid phone number.`;
  if (code === 21610) return `Attempt to send to unsubscribed recipient ${to}`;
  if (code === 21614) return `'To' number ${to} is not a valid mobile number`;
  if (status === 429) return 'Too Many Requests';
  if (status === 503) return 'Service Unavailable';
  if (status >= 500) return 'Internal Server Error';
  return 'Bad Request';
}

function defaultCode(status: number): number {
  if (status === 400) return 21211;
  return 20000 + status;
}

/** Twilio's error JSON: { code, message, more_info, status }. */
function twilioError(res: ServerResponse, status: number, code: number, message: string, headers = {}): void {
  sendJson(
    res,
    status,
    { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status },
    headers,
  );
}

/** The outbox message id a status callback URL carries (`messageId` or `m` query parameter). */
export function messageIdOfCallback(url: string | undefined): string | null {
  if (url === undefined) return null;
  try {
    const params = new URL(url).searchParams;
    return params.get('messageId') ?? params.get('m');
  } catch {
    return null;
  }
}

function rfc2822(date: Date): string {
  return date.toUTCString().replace('GMT', '+0000');
}

/**
 * A Twilio REST fake: `POST /2010-04-01/Accounts/{AC…}/Messages.json` with Basic auth (account
 * SID : auth token) and form fields To, From or MessagingServiceSid, Body, StatusCallback. Answers
 * 201 with a message resource in Twilio's JSON shape, or the failure its rules ask for.
 */
export async function startTwilioFake(options: TwilioFakeOptions): Promise<TwilioFake> {
  const faults = new FaultRules();
  const open = new OpenRequests();
  const requests: TwilioRequest[] = [];
  const expectedAuth = `Basic ${Buffer.from(`${options.accountSid}:${options.authToken}`).toString('base64')}`;
  const { log } = options;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?')[0] ?? '';
    const body = await readBody(req);
    const match = MESSAGES_PATH.exec(path);
    if (req.method !== 'POST' || match === null) {
      twilioError(res, 404, 20404, `The requested resource ${path} was not found`);
      return;
    }
    const form = Object.fromEntries(new URLSearchParams(body));
    requests.push({ path, authorization: req.headers.authorization, form });
    if (req.headers.authorization !== expectedAuth || match[1] !== options.accountSid) {
      twilioError(res, 401, 20003, 'Authenticate');
      return;
    }
    const to = form.To ?? '';
    if (to === '') return twilioError(res, 400, 21604, "A 'To' phone number is required.");
    if (form.From === undefined && form.MessagingServiceSid === undefined) {
      return twilioError(res, 400, 21603, "A 'From' phone number is required.");
    }
    if ((form.Body ?? '') === '') return twilioError(res, 400, 21602, 'Message body is required.');
    const entry = {
      channel: 'sms' as const,
      to,
      messageId: messageIdOfCallback(form.StatusCallback),
      contentHash: contentHash(form.Body ?? ''),
      headers: {
        ...(form.StatusCallback !== undefined ? { statusCallback: form.StatusCallback } : {}),
        ...(form.From !== undefined ? { from: form.From } : {}),
        ...(form.MessagingServiceSid !== undefined ? { messagingServiceSid: form.MessagingServiceSid } : {}),
      },
    };
    const fault: Fault | undefined = faults.take(to);
    if (fault?.type === 'error') {
      const code = typeof fault.code === 'number' ? fault.code : defaultCode(fault.status);
      log.record({ ...entry, providerId: null, handling: 'rejected', status: fault.status });
      twilioError(
        res,
        fault.status,
        code,
        fault.message ?? errorText(fault.status, code, to),
        retryAfterHeader(fault.retryAfterSeconds),
      );
      return;
    }
    const sid = `SM${randomBytes(16).toString('hex')}`;
    if (fault?.type === 'drop') {
      log.record({ ...entry, providerId: sid, handling: 'dropped' });
      dropConnection(req);
      return;
    }
    const handling = fault?.type === 'delay' ? 'delayed' : fault?.type === 'hold' ? 'held' : 'accepted';
    log.record({ ...entry, providerId: sid, handling });
    if (fault?.type === 'delay') await delay(fault.ms);
    // A held request is answered when released; a client that went away gets nothing.
    if (fault?.type === 'hold' && (await open.hold(req.socket)) === 'gone') return;
    const now = rfc2822(new Date());
    const uri = `/2010-04-01/Accounts/${options.accountSid}/Messages/${sid}.json`;
    sendJson(res, 201, {
      account_sid: options.accountSid,
      api_version: '2010-04-01',
      body: form.Body,
      date_created: now,
      date_sent: null,
      date_updated: now,
      direction: 'outbound-api',
      error_code: null,
      error_message: null,
      from: form.From ?? null,
      messaging_service_sid: form.MessagingServiceSid ?? null,
      num_media: '0',
      num_segments: '1',
      price: null,
      price_unit: 'USD',
      sid,
      status: form.MessagingServiceSid !== undefined ? 'accepted' : 'queued',
      subresource_uris: { media: `${uri.replace(/\.json$/, '')}/Media.json` },
      to,
      uri,
    });
  }

  const server = createServer((req, res) => {
    res.once('close', open.begin());
    handle(req, res).catch(() => {
      if (!res.headersSent) twilioError(res, 500, 20500, 'Internal Server Error');
    });
  });
  const host = options.host ?? '127.0.0.1';
  const port = await listen(server, options.port ?? 0, host);
  return {
    port,
    baseUrl: `http://${host}:${port}`,
    faults,
    open,
    requests,
    close: () => closeServer(server),
  };
}
