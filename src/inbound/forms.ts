import type { TypedApp } from '../http/context.js';

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
 * Form bodies, as the public pages and the webhooks receive them (unsubscribe forms and one-click,
 * Twilio's callbacks). Added to the inbound part of the app only: the JSON API takes no forms.
 */
export function acceptForms(app: TypedApp): void {
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
}
