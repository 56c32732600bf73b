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

export interface FcmFakeOptions {
  readonly log: DeliveryLog;
  /** The bearer token a request must carry. */
  readonly accessToken: string;
  /** The only project accepted; any when absent. */
  readonly projectId?: string;
  readonly port?: number;
  readonly host?: string;
}

/** One request as the fake received it, for assertions (bearer token and v1 body). */
export interface FcmRequest {
  readonly path: string;
  readonly authorization: string | undefined;
  readonly body: unknown;
}

export interface FcmFake {
  readonly port: number;
  readonly baseUrl: string;
  readonly faults: FaultRules;
  /** Requests started and not yet answered (held ones among them). */
  readonly open: OpenRequests;
  readonly requests: readonly FcmRequest[];
  close(): Promise<void>;
}

const SEND_PATH = /^\/v1\/projects\/([^/]+)\/messages:send$/;

/** Google's status name and FCM's errorCode for an HTTP status (FCM HTTP v1 ErrorCode). */
const GOOGLE_ERRORS: Readonly<Record<number, { status: string; errorCode: string; message: string }>> = {
  400: {
    status: 'INVALID_ARGUMENT',
    errorCode: 'INVALID_ARGUMENT',
    message: "Invalid value at 'message.token'",
  },
  401: {
    status: 'UNAUTHENTICATED',
    errorCode: 'THIRD_PARTY_AUTH_ERROR',
    message: 'Request had invalid authentication credentials.',
  },
  403: { status: 'PERMISSION_DENIED', errorCode: 'SENDER_ID_MISMATCH', message: 'SenderId mismatch' },
  404: { status: 'NOT_FOUND', errorCode: 'UNREGISTERED', message: 'Requested entity was not found.' },
  429: {
    status: 'RESOURCE_EXHAUSTED',
    errorCode: 'QUOTA_EXCEEDED',
    message: 'Quota exceeded for quota metric.',
  },
  500: { status: 'INTERNAL', errorCode: 'INTERNAL', message: 'Internal error encountered.' },
  503: { status: 'UNAVAILABLE', errorCode: 'UNAVAILABLE', message: 'The service is currently unavailable.' },
};

/** Google's error JSON: { error: { code, message, status, details: [FcmError { errorCode }] } }. */
function googleError(
  res: ServerResponse,
  httpStatus: number,
  options: { errorCode?: string; message?: string; headers?: Record<string, string> } = {},
): void {
  const known = GOOGLE_ERRORS[httpStatus] ?? {
    status: 'UNKNOWN',
    errorCode: 'UNSPECIFIED_ERROR',
    message: 'Error',
  };
  sendJson(
    res,
    httpStatus,
    {
      error: {
        code: httpStatus,
        message: options.message ?? known.message,
        status: known.status,
        details: [
          {
            '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError',
            errorCode: options.errorCode ?? known.errorCode,
          },
        ],
      },
    },
    options.headers,
  );
}

interface V1Message {
  token?: unknown;
  notification?: { title?: unknown; body?: unknown };
  data?: Record<string, unknown>;
}

/**
 * An FCM HTTP v1 fake: `POST /v1/projects/{id}/messages:send` with a bearer token, body
 * `{ message: { token, notification, data } }`; answers 200 `{ name }` or Google's error JSON with
 * `details[0].errorCode`, as its fault rules ask. The push provider reaches it through
 * FCM_API_BASE_URL (src/channels/push/fcm-request.ts); the bare-SDK baseline of the benchmarks through
 * firebase-admin's `httpAgent` hook.
 */
export async function startFcmFake(options: FcmFakeOptions): Promise<FcmFake> {
  const faults = new FaultRules();
  const open = new OpenRequests();
  const requests: FcmRequest[] = [];
  const { log } = options;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?')[0] ?? '';
    const text = await readBody(req);
    const match = SEND_PATH.exec(path);
    if (req.method !== 'POST' || match === null) {
      googleError(res, 404, { errorCode: 'UNSPECIFIED_ERROR', message: `${path} not found` });
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      googleError(res, 400, { message: 'Invalid JSON payload received.' });
      return;
    }
    requests.push({ path, authorization: req.headers.authorization, body });
    if (req.headers.authorization !== `Bearer ${options.accessToken}`) {
      googleError(res, 401, { errorCode: 'UNSPECIFIED_ERROR' });
      return;
    }
    const project = match[1] ?? '';
    if (options.projectId !== undefined && project !== options.projectId) {
      googleError(res, 403, { message: `Permission denied on project ${project}` });
      return;
    }
    const message = (body as { message?: V1Message }).message;
    const token = typeof message?.token === 'string' ? message.token : '';
    if (token === '') {
      googleError(res, 400, { message: 'The message must have a token.' });
      return;
    }
    const data = message?.data ?? {};
    const entry = {
      channel: 'push' as const,
      to: token,
      messageId: typeof data.messageId === 'string' ? data.messageId : null,
      contentHash: contentHash(
        String(message?.notification?.title ?? ''),
        String(message?.notification?.body ?? ''),
      ),
      headers: {},
    };
    const fault: Fault | undefined = faults.take(token);
    if (fault?.type === 'error') {
      log.record({ ...entry, providerId: null, handling: 'rejected', status: fault.status });
      googleError(res, fault.status, {
        ...(typeof fault.code === 'string' ? { errorCode: fault.code } : {}),
        // A 400 echoes the value it refused, as Google's field errors do: the provider must scrub it.
        message:
          fault.message ??
          (fault.status === 400 ? `Invalid value at 'message.token', "${token}"` : undefined),
        headers: retryAfterHeader(fault.retryAfterSeconds),
      });
      return;
    }
    const name = `projects/${project}/messages/0:${Date.now()}%${randomBytes(8).toString('hex')}`;
    if (fault?.type === 'drop') {
      log.record({ ...entry, providerId: name, handling: 'dropped' });
      dropConnection(req);
      return;
    }
    const handling = fault?.type === 'delay' ? 'delayed' : fault?.type === 'hold' ? 'held' : 'accepted';
    log.record({ ...entry, providerId: name, handling });
    if (fault?.type === 'delay') await delay(fault.ms);
    // A held request is answered when released; a client that went away gets nothing.
    if (fault?.type === 'hold' && (await open.hold(req.socket)) === 'gone') return;
    sendJson(res, 200, { name });
  }

  const server = createServer((req, res) => {
    res.once('close', open.begin());
    handle(req, res).catch(() => {
      if (!res.headersSent) googleError(res, 500);
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
