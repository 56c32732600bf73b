import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { SANDBOX_ACCESS_TOKEN } from '../../src/channels/push/push-provider.js';
import { DeliveryLog, type FakeChannel } from './delivery-log.js';
import { type FaultRules, parseFaultRule } from './faults.js';
import { type FcmFake, startFcmFake } from './fcm-fake.js';
import { closeServer, listen, readBody, sendJson } from './http-util.js';
import type { OpenCount, OpenRequests } from './open-requests.js';
import { type SmtpSink, startSmtpSink } from './smtp-sink.js';
import { startTwilioFake, type TwilioFake } from './twilio-fake.js';

/** The credentials in .env.example, which the fakes accept unless told otherwise. */
export const EXAMPLE_TWILIO_ACCOUNT_SID = 'AC00000000000000000000000000000000';
export const EXAMPLE_TWILIO_AUTH_TOKEN = '00000000000000000000000000000000';

export interface FakesOptions {
  /** 0 (the default) picks a free port. */
  readonly smtpPort?: number;
  readonly twilioPort?: number;
  readonly fcmPort?: number;
  readonly controlPort?: number;
  /** JSONL file every delivery is appended to. */
  readonly logFile?: string;
  readonly twilioAccountSid?: string;
  readonly twilioAuthToken?: string;
  readonly fcmAccessToken?: string;
  readonly fcmProjectId?: string;
}

export interface FakePorts {
  readonly smtp: number;
  readonly twilio: number;
  readonly fcm: number;
  readonly control: number;
}

/** The configuration that points the roles' real SDKs at the fakes (docs/providers.md). */
export function providerEnv(ports: Pick<FakePorts, 'smtp' | 'twilio' | 'fcm'>): Record<string, string> {
  return {
    SMTP_URL: `smtp://127.0.0.1:${ports.smtp}`,
    TWILIO_API_BASE_URL: `http://127.0.0.1:${ports.twilio}`,
    FCM_API_BASE_URL: `http://127.0.0.1:${ports.fcm}`,
  };
}

export interface Fakes {
  readonly ports: FakePorts;
  readonly log: DeliveryLog;
  readonly smtp: SmtpSink;
  readonly twilio: TwilioFake;
  readonly fcm: FcmFake;
  faults(channel: FakeChannel): FaultRules;
  /** The provider calls of a channel started and not yet answered (and the held ones). */
  open(channel: FakeChannel): OpenRequests;
  close(): Promise<void>;
}

const HOST = '127.0.0.1';
const CHANNELS: readonly string[] = ['email', 'sms', 'push'];

/**
 * Starts the three provider fakes and their control API, all on 127.0.0.1.
 * Control API (JSON):
 *   GET    /health                          → { ok: true, ports }
 *   POST   /faults  { channel, fault, to?, times? }   add a fault rule (see faults.ts)
 *   DELETE /faults[?channel=]               clear rules
 *   GET    /open                            → { email: { open, held }, sms: …, push: … }
 *   POST   /release[?channel=]              answer the held calls → { released }
 *   GET    /deliveries[?channel=&messageId=&to=]      → { deliveries: [...] }
 *   DELETE /deliveries                      forget the in-memory log (the file is kept)
 */
export async function startFakes(options: FakesOptions = {}): Promise<Fakes> {
  const log = new DeliveryLog(options.logFile);
  const smtp = await startSmtpSink({ log, port: options.smtpPort ?? 0, host: HOST });
  const twilio = await startTwilioFake({
    log,
    port: options.twilioPort ?? 0,
    host: HOST,
    accountSid: options.twilioAccountSid ?? EXAMPLE_TWILIO_ACCOUNT_SID,
    authToken: options.twilioAuthToken ?? EXAMPLE_TWILIO_AUTH_TOKEN,
  });
  const fcm = await startFcmFake({
    log,
    port: options.fcmPort ?? 0,
    host: HOST,
    accessToken: options.fcmAccessToken ?? SANDBOX_ACCESS_TOKEN,
    ...(options.fcmProjectId !== undefined ? { projectId: options.fcmProjectId } : {}),
  });
  const faults = (channel: FakeChannel): FaultRules =>
    channel === 'email' ? smtp.faults : channel === 'sms' ? twilio.faults : fcm.faults;
  const open = (channel: FakeChannel): OpenRequests =>
    channel === 'email' ? smtp.open : channel === 'sms' ? twilio.open : fcm.open;

  let ports: FakePorts = { smtp: smtp.port, twilio: twilio.port, fcm: fcm.port, control: 0 };
  const control = createServer((req, res) => {
    handleControl(req, res).catch((err: unknown) => sendJson(res, 500, { error: String(err) }));
  });

  async function handleControl(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', `http://${HOST}`);
    const channel = url.searchParams.get('channel') ?? undefined;
    if (channel !== undefined && !CHANNELS.includes(channel)) {
      return sendJson(res, 400, { error: 'channel is email, sms or push' });
    }
    const route = `${req.method} ${url.pathname}`;
    if (route === 'GET /health') return sendJson(res, 200, { ok: true, ports });
    if (route === 'POST /faults') {
      const body: unknown = JSON.parse((await readBody(req)) || 'null');
      const target = (body as { channel?: unknown } | null)?.channel;
      if (typeof target !== 'string' || !CHANNELS.includes(target)) {
        return sendJson(res, 400, { error: 'channel is email, sms or push' });
      }
      const rule = parseFaultRule(body);
      if (typeof rule === 'string') return sendJson(res, 400, { error: rule });
      faults(target as FakeChannel).add(rule);
      return sendJson(res, 201, { ok: true });
    }
    if (route === 'DELETE /faults') {
      for (const c of CHANNELS) if (channel === undefined || channel === c) faults(c as FakeChannel).clear();
      return sendJson(res, 200, { ok: true });
    }
    if (route === 'GET /open') {
      const counts: Record<FakeChannel, OpenCount> = {
        email: open('email').count,
        sms: open('sms').count,
        push: open('push').count,
      };
      return sendJson(res, 200, counts);
    }
    if (route === 'POST /release') {
      let released = 0;
      for (const c of CHANNELS)
        if (channel === undefined || channel === c) released += open(c as FakeChannel).release();
      return sendJson(res, 200, { released });
    }
    if (route === 'GET /deliveries') {
      const messageId = url.searchParams.get('messageId') ?? undefined;
      const to = url.searchParams.get('to') ?? undefined;
      const deliveries = log.entries({
        ...(channel !== undefined ? { channel: channel as FakeChannel } : {}),
        ...(messageId !== undefined ? { messageId } : {}),
        ...(to !== undefined ? { to } : {}),
      });
      return sendJson(res, 200, { deliveries });
    }
    if (route === 'DELETE /deliveries') {
      log.clear();
      return sendJson(res, 200, { ok: true });
    }
    return sendJson(res, 404, { error: `no route ${route}` });
  }

  const controlPort = await listen(control, options.controlPort ?? 0, HOST);
  ports = { ...ports, control: controlPort };
  return {
    ports,
    log,
    smtp,
    twilio,
    fcm,
    faults,
    open,
    async close() {
      await Promise.all([smtp.close(), twilio.close(), fcm.close(), closeServer(control)]);
    },
  };
}
