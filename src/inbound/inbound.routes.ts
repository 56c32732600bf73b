import type { HttpContext, TypedApp } from '../http/app.js';
import { registerBounceRoutes } from './bounces.js';
import { registerTrackingRoutes } from './tracking.js';
import { registerTwilioRoutes } from './twilio.js';
import { registerUnsubscribeRoutes } from './unsubscribe.js';

const FORM_LIMIT = 64 * 1024;

/** `a=1&b=2` as a flat object of strings (the last of repeated names wins). */
function parseForm(text: string): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(text));
}

/** RFC 8058 allows multipart/form-data for one-click; only its List-Unsubscribe field is read. */
function parseMultipartOneClick(text: string): Record<string, string> {
  return /name="List-Unsubscribe"\r?\n(?:[^\r\n]+\r?\n)*\r?\nOne-Click\r?\n/.test(text)
    ? { 'List-Unsubscribe': 'One-Click' }
    : {};
}

/**
 * Public pages and webhooks (issue 5): unsubscribe (/u), click and open tracking (/c, /o), Twilio
 * status and inbound SMS, e-mail bounces. Form bodies are parsed only inside this plugin.
 */
export async function registerInbound(app: TypedApp, ctx: HttpContext): Promise<void> {
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: FORM_LIMIT },
    (_request, body, done) => done(null, parseForm(String(body))),
  );
  app.addContentTypeParser(
    'multipart/form-data',
    { parseAs: 'string', bodyLimit: FORM_LIMIT },
    (_request, body, done) => done(null, parseMultipartOneClick(String(body))),
  );
  registerUnsubscribeRoutes(app, ctx);
  registerTrackingRoutes(app, ctx);
  registerTwilioRoutes(app, ctx);
  registerBounceRoutes(app, ctx);
}
