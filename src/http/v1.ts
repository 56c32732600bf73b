import { registerAuditRoutes } from '../audit/audit.routes.js';
import { registerCampaignRoutes } from '../campaigns/campaigns.routes.js';
import { registerConsentRoutes } from '../consent/consent.routes.js';
import { registerDsrRoutes } from '../dsr/dsr.routes.js';
import { registerNoticeRoutes } from '../notices/notices.routes.js';
import { registerOfferRoutes } from '../offers/offers.routes.js';
import { registerEmergencyRoutes } from '../ops/emergency.routes.js';
import { registerRecipientRoutes } from '../recipients/recipients.routes.js';
import { registerReportRoutes } from '../reports/reports.routes.js';
import type { HttpContext, TypedApp } from './app.js';

/** The /v1 API: every route declares its scope and its request and response schemas. */
export function registerV1(app: TypedApp, ctx: HttpContext): void {
  registerRecipientRoutes(app, ctx);
  registerNoticeRoutes(app, ctx);
  registerConsentRoutes(app, ctx);
  registerDsrRoutes(app, ctx);
  registerAuditRoutes(app, ctx);
  registerReportRoutes(app, ctx);
  registerCampaignRoutes(app, ctx);
  registerEmergencyRoutes(app, ctx);
  registerOfferRoutes(app, ctx);
}
