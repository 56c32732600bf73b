import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config/config.js';

/**
 * Signed link tokens for unsubscribe pages, click and open tracking: `<key id>.<payload>.<signature>`
 * (base64url). The key id lets the secret rotate: retired keys (SIGNING_SECRETS_PREVIOUS) still verify,
 * and tokens never expire: an unsubscribe link withdraws whatever its age or key (N12: at any time).
 * A tampered one is rejected and changes nothing. Rotation: docs/operations.md.
 */
export type LinkKind = 'unsubscribe' | 'click' | 'open';

export interface LinkPayload {
  readonly kind: LinkKind;
  readonly messageId: number;
  /** Issued at, seconds since the epoch. */
  readonly iat: number;
}

const KIND_CODE: Record<LinkKind, string> = { unsubscribe: 'u', click: 'c', open: 'o' };
const CODE_KIND: Record<string, LinkKind> = { u: 'unsubscribe', c: 'click', o: 'open' };

function sign(secret: string, text: string): string {
  return createHmac('sha256', secret).update(text).digest('base64url');
}

export function signLink(signing: Config['signing'], payload: LinkPayload): string {
  const body = Buffer.from(`${KIND_CODE[payload.kind]}:${payload.messageId}:${payload.iat}`).toString(
    'base64url',
  );
  const kid = signing.current.id;
  return `${kid}.${body}.${sign(signing.current.secret, `${kid}.${body}`)}`;
}

export type VerifiedLink =
  | { ok: true; payload: LinkPayload; keyId: string }
  | { ok: false; reason: 'malformed' | 'bad_signature' | 'unknown_key' };

export function verifyLink(signing: Config['signing'], token: string): VerifiedLink {
  const parts = token.split('.');
  if (parts.length !== 3) return { ok: false, reason: 'malformed' };
  const [kid, body, signature] = parts as [string, string, string];
  const key = [signing.current, ...signing.previous].find((k) => k.id === kid);
  if (!key) return { ok: false, reason: 'unknown_key' };
  const expected = Buffer.from(sign(key.secret, `${kid}.${body}`));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given))
    return { ok: false, reason: 'bad_signature' };
  const m = /^([uco]):(\d{1,15}):(\d{1,12})$/.exec(Buffer.from(body, 'base64url').toString());
  const kind = m?.[1] === undefined ? undefined : CODE_KIND[m[1]];
  if (!m || !kind) return { ok: false, reason: 'malformed' };
  return { ok: true, keyId: kid, payload: { kind, messageId: Number(m[2]), iat: Number(m[3]) } };
}
