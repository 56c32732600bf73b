import { registerAuditRoutes } from '../audit/audit.routes.js';
import { registerConsentRoutes } from '../consent/consent.routes.js';
import { registerDsrRoutes } from '../dsr/dsr.routes.js';
import { registerNoticeRoutes } from '../notices/notices.routes.js';
import { registerOfferRoutes } from '../offers/offers.routes.js';
import { registerRecipientRoutes } from '../recipients/recipients.routes.js';
import type { HttpContext, TypedApp } from './app.js';

/** The /v1 API: every route declares its scope and its request and response schemas. */
export function registerV1(app: TypedApp, ctx: HttpContext): void {
  registerRecipientRoutes(app, ctx);
  registerNoticeRoutes(app, ctx);
  registerConsentRoutes(app, ctx);
  registerDsrRoutes(app, ctx);
  registerAuditRoutes(app, ctx);
  registerOfferRoutes(app, ctx);
}
