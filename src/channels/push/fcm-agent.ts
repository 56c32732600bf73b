import type { ClientRequest, RequestOptions } from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { sendAttempts } from './send-attempt.js';

type AddRequest = (this: https.Agent, request: ClientRequest, options: RequestOptions) => void;
const agentAddRequest = Reflect.get(https.Agent.prototype, 'addRequest') as AddRequest;

/**
 * The HTTP agent of the FCM app (firebase-admin's supported `httpAgent` option), used with
 * `enableLegacyHttpTransport()` so every send is one HTTP/1.1 request through it.
 * - With FCM_API_BASE_URL, connections go to that host and port instead of fcm.googleapis.com
 *   (plain TCP for http:, TLS for https:); the request itself is unchanged.
 * - Every `messages:send` request is first admitted by the SendAttempt of its send, which refuses
 *   the SDK's own re-sends (see send-attempt.ts). Node calls `addRequest` for each request that
 *   uses an agent; it is the one place that sees every request before it is sent.
 */
export class FcmAgent extends https.Agent {
  readonly #target: URL | undefined;

  constructor(target: URL | undefined, options: https.AgentOptions) {
    super(options);
    this.#target = target;
  }

  override createConnection(
    options: RequestOptions,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    const target = this.#target;
    if (target === undefined) return super.createConnection(options, callback);
    const port = Number(target.port || (target.protocol === 'https:' ? 443 : 80));
    if (target.protocol === 'https:')
      return tls.connect({ host: target.hostname, port, servername: target.hostname });
    return net.connect(port, target.hostname);
  }

  addRequest(request: ClientRequest, options: RequestOptions): void {
    const attempt = sendAttempts.getStore();
    if (attempt !== undefined && options.path?.endsWith(':send') === true) attempt.admit(request);
    agentAddRequest.call(this, request, options);
  }
}
