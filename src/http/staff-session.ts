import type { FastifyReply } from 'fastify';
import type { Config } from '../config/config.js';
import type { SessionLimits } from '../staff/sessions.js';
import { totpKeyOf } from '../staff/totp.js';

/**
 * How a staff session travels (docs/staff.md, "Sessions"): a cookie that scripts cannot read
 * (HttpOnly), that no other site's request carries (SameSite=Strict), for the whole api (Path=/),
 * Secure when PUBLIC_BASE_URL is https — and then named with the `__Host-` prefix, which browsers
 * accept only from a secure origin, for Path=/ and without a Domain, so no sibling host can plant it.
 * The cookie holds the session id; the session itself lives in PostgreSQL (src/staff/sessions.ts).
 */
export interface StaffSessionSettings {
  readonly cookieName: string;
  readonly csrfCookieName: string;
  readonly secure: boolean;
  readonly limits: SessionLimits;
  /** Seals TOTP secrets at rest (src/staff/totp.ts). */
  readonly totpKey: Buffer;
}

export function staffSessionSettings(config: Config): StaffSessionSettings {
  const secure = config.http.publicBaseUrl.startsWith('https:');
  return {
    cookieName: secure ? '__Host-cc_session' : 'cc_session',
    csrfCookieName: secure ? '__Host-cc_csrf' : 'cc_csrf',
    secure,
    limits: {
      idleMs: config.staff.sessionIdleMinutes * 60_000,
      absoluteMs: config.staff.sessionMaxHours * 3_600_000,
    },
    totpKey: totpKeyOf(config.pseudonymSecret),
  };
}

export function cookieOptions(settings: StaffSessionSettings) {
  return { path: '/', httpOnly: true, sameSite: 'strict', secure: settings.secure } as const;
}

export function setSessionCookie(
  reply: FastifyReply,
  settings: StaffSessionSettings,
  token: string,
  expiresAt: Date,
): void {
  reply.setCookie(settings.cookieName, token, { ...cookieOptions(settings), expires: expiresAt });
}

export function clearSessionCookie(reply: FastifyReply, settings: StaffSessionSettings): void {
  reply.clearCookie(settings.cookieName, cookieOptions(settings));
}
