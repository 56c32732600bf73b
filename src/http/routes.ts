import helmet from '@fastify/helmet';
import { registerAuditRoutes } from '../audit/audit.routes.js';
import { registerCampaignRoutes } from '../campaigns/campaigns.routes.js';
import { registerConsentRoutes } from '../consent/consent.routes.js';
import { registerDsrRoutes } from '../dsr/dsr.routes.js';
import { registerHealthRoutes } from '../health/health.routes.js';
import { registerBounceRoutes } from '../inbound/bounces.routes.js';
import { acceptForms } from '../inbound/forms.js';
import { registerTrackingRoutes } from '../inbound/tracking.routes.js';
import { registerTwilioRoutes } from '../inbound/twilio.routes.js';
import { registerUnsubscribeRoutes } from '../inbound/unsubscribe.routes.js';
import { registerMessageRoutes } from '../messages/messages.routes.js';
import { registerNoticeRoutes } from '../notices/notices.routes.js';
import { registerOfferRoutes } from '../offers/offers.routes.js';
import { registerEmergencyRoutes } from '../ops/emergency.routes.js';
import { registerMetricsRoute } from '../ops/metrics.routes.js';
import { registerQueueBoard } from '../ops/queue-board.routes.js';
import { registerRecipientRoutes } from '../recipients/recipients.routes.js';
import { registerReportRoutes } from '../reports/reports.routes.js';
import { registerSignInRoutes } from '../staff/sign-in.routes.js';
import { registerStaffRoutes } from '../staff/staff.routes.js';
import type { HttpContext, TypedApp } from './context.js';
import { registerDocsRoutes } from './docs.routes.js';

/**
 * Every route of the api, registered from this one place; a feature's routes live in its own
 * `<feature>/*.routes.ts`. The order is the order of the OpenAPI document. Besides the service routes
 * at the root, three encapsulated parts:
 * - `/v1`, the JSON API: every route declares its scope and its request and response schemas;
 * - public pages and webhooks (docs/inbound.md): unsubscribe, click and open tracking, Twilio, bounces;
 *   form bodies are parsed in this part only;
 * - ops outside /v1 (docs/operations.md): `GET /metrics` and the queue board at /admin/queues.
 * /v1 (staff sign-in at /v1/auth included, docs/staff.md) answers with strict security headers
 * (helmet): it is what a staff session is served, and a JSON answer needs no script, style or frame.
 */
/** Nothing may load from, frame or be framed by a JSON answer; HSTS is helmet's default. */
const STRICT_HEADERS = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'none'"],
      frameAncestors: ["'none'"],
      baseUri: ["'none'"],
      formAction: ["'none'"],
    },
  },
  crossOriginResourcePolicy: { policy: 'same-origin' },
  referrerPolicy: { policy: 'no-referrer' },
} as const;

export async function registerRoutes(app: TypedApp, ctx: HttpContext): Promise<void> {
  registerHealthRoutes(app, ctx);
  registerDocsRoutes(app);

  await app.register(
    async (plugin) => {
      const v1 = plugin as TypedApp;
      await v1.register(helmet, STRICT_HEADERS);
      registerRecipientRoutes(v1, ctx);
      registerNoticeRoutes(v1, ctx);
      registerConsentRoutes(v1, ctx);
      registerDsrRoutes(v1, ctx);
      registerAuditRoutes(v1, ctx);
      registerReportRoutes(v1, ctx);
      registerMessageRoutes(v1, ctx);
      registerCampaignRoutes(v1, ctx);
      registerEmergencyRoutes(v1, ctx);
      registerOfferRoutes(v1, ctx);
      registerSignInRoutes(v1, ctx);
      registerStaffRoutes(v1, ctx);
    },
    { prefix: '/v1' },
  );

  await app.register(async (plugin) => {
    const inbound = plugin as TypedApp;
    acceptForms(inbound);
    registerUnsubscribeRoutes(inbound, ctx);
    registerTrackingRoutes(inbound, ctx);
    registerTwilioRoutes(inbound, ctx);
    registerBounceRoutes(inbound, ctx);
  });

  await app.register(async (plugin) => {
    const ops = plugin as TypedApp;
    registerMetricsRoute(ops, ctx);
    await registerQueueBoard(ops, ctx);
  });
}
