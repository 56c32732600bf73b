import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Job, Queue } from 'bullmq';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { audit } from '../audit/audit.js';
import type { ApiKeyPrincipal } from '../auth/api-keys.js';
import type { HttpContext, TypedApp } from '../http/context.js';
import { scrubText } from '../logging/scrub.js';

/** Where the board is served. */
export const QUEUE_BOARD_PATH = '/admin/queues';
const REALM = 'Basic realm="consentcast ops", charset="UTF-8"';

/**
 * Routes of the board that would put data of our choosing into a job: payloads carry ids only and are
 * made by the runner (N16), so the board may look, retry, pause and clean, but not write job data.
 */
const REFUSED_ROUTES = new Set([
  `${QUEUE_BOARD_PATH}/api/queues/:queueName/add`,
  `${QUEUE_BOARD_PATH}/api/queues/:queueName/:jobId/update-data`,
]);

type JobJson = ReturnType<Job['toJSON']>;

/** A job whose failed reason and stack trace are scrubbed when the board renders it (N16). */
function scrubbedJob<T extends Job | undefined>(job: T): T {
  if (job === undefined) return job;
  const original = job.toJSON.bind(job);
  job.toJSON = (): JobJson => {
    const json = original();
    return {
      ...json,
      failedReason: typeof json.failedReason === 'string' ? scrubText(json.failedReason) : json.failedReason,
      stacktrace: Array.isArray(json.stacktrace) ? json.stacktrace.map((s) => scrubText(String(s))) : [],
    };
  };
  return job;
}

/**
 * The workers already scrub what they throw; the board scrubs again, so a failed reason that came from
 * anywhere else (a driver error echoing a value) never reaches an operator's screen unscrubbed.
 */
class ScrubbingBullMQAdapter extends BullMQAdapter {
  override async getJob(id: string): Promise<Job | undefined> {
    return scrubbedJob(await super.getJob(id));
  }
  override async getJobs(...args: Parameters<BullMQAdapter['getJobs']>): Promise<Job[]> {
    return (await super.getJobs(...args)).map((j) => scrubbedJob(j));
  }
  override async getJobLogs(id: string): Promise<string[]> {
    return (await super.getJobLogs(id)).map(scrubText);
  }
}

/** The credentials of a request: HTTP basic (password = API key; any user name) or a bearer token. */
function presentedKey(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const bearer = /^Bearer (\S+)$/.exec(header);
  if (bearer?.[1]) return bearer[1];
  const basic = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(header);
  if (!basic?.[1]) return undefined;
  const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(colon + 1);
}

/**
 * Bull Board at /admin/queues (every queue of the deployment), behind HTTP basic auth whose password
 * is an API key with the `ops` scope, until staff sign-in exists. Its routes are hidden from the
 * OpenAPI document and left out of the bearer check of /v1; this plugin does its own. Every change
 * made through the board (retry, pause, clean, …) is written to the audit log before it happens.
 */
export async function registerQueueBoard(app: TypedApp, ctx: HttpContext): Promise<void> {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(QUEUE_BOARD_PATH);
  createBullBoard({
    queues: [...ctx.deps.queues.values()].map((q: Queue) => new ScrubbingBullMQAdapter(q)),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'consentcast' } },
  });

  const authenticate = async (request: FastifyRequest, reply: FastifyReply) => {
    const key = presentedKey(request.headers.authorization);
    const principal: ApiKeyPrincipal | undefined =
      key === undefined ? undefined : await ctx.verifyApiKey(key);
    if (!principal) {
      return reply.code(401).header('www-authenticate', REALM).send({
        error: 'unauthorized',
        message: 'sign in with any user name and an API key with the ops scope as the password',
      });
    }
    if (!principal.scopes.includes('ops')) {
      return reply.code(403).send({ error: 'forbidden', message: 'this API key lacks the scope ops' });
    }
    request.principal = { kind: 'api_key', ...principal };
    const route = request.routeOptions.url ?? '';
    if (REFUSED_ROUTES.has(route)) {
      return reply.code(403).send({
        error: 'forbidden',
        message: 'job data is written by consentcast only (ids only, N16); the board cannot add or edit it',
      });
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      const params = request.params as Record<string, string | undefined>;
      await audit(ctx.deps.db, {
        actor: { type: 'api_key', id: principal.name },
        action: 'ops.queue_board',
        subjectType: 'queue',
        subjectId: params.queueName ?? 'all',
        requestId: request.id,
        reason: 'operator action on the queue dashboard',
        details: {
          method: request.method,
          route: route.slice(QUEUE_BOARD_PATH.length),
          ...(params.jobId !== undefined ? { job: params.jobId } : {}),
          ...(params.queueStatus !== undefined ? { status: params.queueStatus } : {}),
        },
      });
    }
    return undefined;
  };

  await app.register(async (board) => {
    board.addHook('onRoute', (route) => {
      route.config = { ...route.config, public: true };
      route.schema = { ...route.schema, hide: true };
    });
    board.addHook('onRequest', authenticate);
    await board.register(serverAdapter.registerPlugin(), { prefix: QUEUE_BOARD_PATH });
  });
}
