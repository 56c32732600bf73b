import http from 'node:http';
import https from 'node:https';
import { parseRetryAfter } from '../http-attempt.js';
import type { SendResult } from '../send-result.js';
import { classifyFcmFailure, classifyFcmResponse } from './classify.js';

/** FCM's answers are a few hundred bytes; a longer one is not FCM's and is read as unreadable. */
const MAX_ANSWER_BYTES = 64 * 1024;

/** Where sends go: `{base}/v1/projects/{projectId}/messages:send`, and the agent holding the sockets. */
export interface FcmEndpoint {
  readonly url: URL;
  readonly agent: http.Agent;
}

export function fcmEndpoint(base: URL, projectId: string, maxSockets: number): FcmEndpoint {
  const root = base.href.endsWith('/') ? base.href : `${base.href}/`;
  const url = new URL(`v1/projects/${encodeURIComponent(projectId)}/messages:send`, root);
  const options = { keepAlive: true, maxSockets };
  return { url, agent: url.protocol === 'https:' ? new https.Agent(options) : new http.Agent(options) };
}

/**
 * POSTs one FCM v1 message, once: Node's HTTP client never repeats a request, and neither does
 * this function, whatever happens. The result says whether sending again could duplicate it:
 * an error before the request was written in full is `retry`, after it `unknown`. When `deadline`
 * aborts, the request is abandoned and classified the same way (code `timeout`).
 */
export function postFcmMessage(
  endpoint: FcmEndpoint,
  accessToken: string,
  body: string,
  deadline: AbortSignal,
): Promise<SendResult> {
  if (deadline.aborted) {
    return Promise.resolve(
      classifyFcmFailure(
        { message: 'no time left to send', code: 'timeout' },
        { requestMade: false, written: false },
      ),
    );
  }
  return new Promise((resolve) => {
    const transport = endpoint.url.protocol === 'https:' ? https : http;
    const request = transport.request(endpoint.url, {
      method: 'POST',
      agent: endpoint.agent,
      headers: {
        authorization: `Bearer ${accessToken}`,
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(body),
      },
    });
    let status: number | undefined;
    let retryAfterMs: number | undefined;
    let settled = false;
    const settle = (result: SendResult): void => {
      if (settled) return;
      settled = true;
      deadline.removeEventListener('abort', onDeadline);
      resolve(result);
    };
    // The answer as far as it came; `body` is undefined when it was cut off.
    const answer = (text: string | undefined): void =>
      settle(
        classifyFcmResponse({
          status: status ?? 0,
          body: text,
          ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
        }),
      );
    // Without an answer, all that matters is whether the whole request left.
    const noAnswer = (message: string, code?: string): void =>
      settle(
        classifyFcmFailure(
          { message, ...(code !== undefined ? { code } : {}) },
          { requestMade: true, written: request.writableFinished },
        ),
      );
    const onDeadline = (): void => {
      if (status === undefined) noAnswer('no answer before the deadline', 'timeout');
      else answer(undefined);
      request.destroy();
    };

    request.once('response', (response) => {
      status = response.statusCode ?? 0;
      retryAfterMs = parseRetryAfter(response.headers['retry-after']);
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= MAX_ANSWER_BYTES) chunks.push(chunk);
      });
      response.on('error', () => undefined);
      response.once('close', () =>
        answer(
          response.complete && size <= MAX_ANSWER_BYTES ? Buffer.concat(chunks).toString('utf8') : undefined,
        ),
      );
    });
    request.on('error', (error: NodeJS.ErrnoException) => {
      if (status === undefined) noAnswer(error.message, error.code);
    });
    request.once('close', () => {
      if (status === undefined) noAnswer('connection closed without an answer');
    });
    deadline.addEventListener('abort', onDeadline, { once: true });
    request.end(body);
  });
}
