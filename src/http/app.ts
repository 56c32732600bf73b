import { createHmac } from 'node:crypto';
import cookie from '@fastify/cookie';
import csrf from '@fastify/csrf-protection';
import swagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyError, LogController } from 'fastify';
import { createApiKeyVerifier } from '../auth/api-keys.js';
import type { Deps } from '../deps.js';
import { ConflictError } from '../errors/conflict-error.js';
import { NotFoundError } from '../errors/not-found-error.js';
import { ValidationError } from '../errors/validation-error.js';
import { requestMetrics } from '../metrics/http-metrics.js';
import { registerAuth } from './auth.js';
import type { HttpContext, TypedApp } from './context.js';
import { ForbiddenError, UnauthorizedError } from './http-errors.js';
import { registerRoutes } from './routes.js';
import { cookieOptions, staffSessionSettings } from './staff-session.js';
import { createRequestValidator } from './validation.js';

interface AjvIssue {
  instancePath: string;
  message?: string;
  params: Record<string, unknown>;
}

/** Every schema violation as `{ field, message }`, with the field as a path like `body/changes/0/purpose`. */
function fieldsOf(
  issues: readonly AjvIssue[],
  context: string | undefined,
): { field: string; message: string }[] {
  return issues.map((issue) => {
    const extra =
      typeof issue.params.missingProperty === 'string'
        ? `/${issue.params.missingProperty}`
        : typeof issue.params.additionalProperty === 'string'
          ? `/${issue.params.additionalProperty}`
          : '';
    const message =
      typeof issue.params.additionalProperty === 'string'
        ? 'is not a known field'
        : (issue.message ?? 'is invalid');
    return { field: `${context ?? 'request'}${issue.instancePath}${extra}`, message };
  });
}

/**
 * The api's Fastify app: request validation, logging, error answers, the OpenAPI generator and
 * authentication, then every route (routes.ts).
 */
export async function buildHttpApp(deps: Deps): Promise<TypedApp> {
  const app = Fastify({
    loggerInstance: deps.logger.child({ component: 'http' }) as FastifyBaseLogger,
    // Request logs are written by the onResponse hook below with the route pattern, never the URL:
    // URLs carry client numbers and tokens.
    logController: new LogController({ disableRequestLogging: true }),
    requestIdHeader: 'x-request-id',
    genReqId: () => crypto.randomUUID(),
    bodyLimit: 1_048_576,
    ajv: {
      customOptions: { allErrors: true, removeAdditional: false, coerceTypes: false, useDefaults: true },
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // All parts of a request are validated together (validation.ts); Fastify's own per-part validators
  // are switched off so nothing is checked twice.
  const compileRequest = createRequestValidator();
  app.setValidatorCompiler(() => () => true);
  app.addHook('onRoute', (route) => {
    const validate = route.schema ? compileRequest(route.schema) : undefined;
    if (!validate) return;
    const hooks =
      route.preValidation === undefined
        ? []
        : Array.isArray(route.preValidation)
          ? route.preValidation
          : [route.preValidation];
    route.preValidation = [
      async (request) =>
        validate(request as unknown as Record<'params' | 'querystring' | 'headers' | 'body', unknown>),
      ...hooks,
    ];
  });

  const requests = requestMetrics();
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    requests.observe(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
    request.log.info(
      {
        method: request.method,
        route,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
      },
      'request',
    );
  });
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error.validation) {
      return reply.code(400).send({
        error: 'validation_failed',
        message: 'the request is invalid',
        fields: fieldsOf(error.validation as AjvIssue[], error.validationContext),
      });
    }
    if (error instanceof ValidationError) {
      return reply
        .code(400)
        .send({ error: 'validation_failed', message: 'the request is invalid', fields: error.fields });
    }
    if (error instanceof UnauthorizedError)
      return reply.code(401).send({ error: 'unauthorized', message: error.message });
    if (error instanceof ForbiddenError)
      return reply.code(403).send({ error: 'forbidden', message: error.message });
    if (error instanceof NotFoundError)
      return reply.code(404).send({ error: 'not_found', message: error.message });
    if (error instanceof ConflictError)
      return reply.code(409).send({ error: error.code, message: error.message });
    if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
      return reply
        .code(error.statusCode)
        .send({ error: error.code ?? 'bad_request', message: error.message });
    }
    request.log.error({ err: error }, 'unhandled error');
    return reply
      .code(500)
      .send({ error: 'internal', message: 'internal error; see the logs with this request id' });
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'consentcast API',
        version: '1',
        description:
          'Consent-first campaign orchestration. Authenticate with `Authorization: Bearer cc_<prefix>_<secret>`, or as staff with the session cookie from `POST /v1/auth/sign-in` (state changes then need the `x-csrf-token` header); each route names the scope it needs.',
      },
      components: {
        securitySchemes: {
          apiKey: { type: 'http', scheme: 'bearer' },
          staffSession: { type: 'apiKey', in: 'cookie', name: 'cc_session' },
        },
      },
      security: [{ apiKey: [] }, { staffSession: [] }],
    },
  });

  const ctx: HttpContext = {
    deps,
    verifyApiKey: createApiKeyVerifier(deps.db),
    staffSession: staffSessionSettings(deps.config),
  };
  await app.register(cookie);
  // CSRF tokens (double submit: a secret in an HttpOnly cookie, the token in a header), bound to the
  // session they were issued for, so a token taken from one session is worthless in another.
  await app.register(csrf, {
    sessionPlugin: '@fastify/cookie',
    cookieKey: ctx.staffSession.csrfCookieName,
    cookieOpts: cookieOptions(ctx.staffSession),
    getUserInfo: (request) => (request.principal?.kind === 'staff' ? request.principal.sessionHash : ''),
    csrfOpts: {
      hmacKey: createHmac('sha256', deps.config.signing.current.secret).update('consentcast csrf').digest(),
    },
  });
  registerAuth(app, ctx);
  await registerRoutes(app, ctx);
  return app;
}
