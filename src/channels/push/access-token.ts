import type { Credential } from 'firebase-admin/app';

/** A token is renewed this long before it expires, as firebase-admin does. */
const RENEW_BEFORE_MS = 5 * 60 * 1000;

/**
 * The bearer token of FCM requests, from a firebase-admin `Credential` (`cert(...)` or the static
 * sandbox token). `getAccessToken()` of a service account makes a token exchange each time, so the
 * token is kept until shortly before it expires; concurrent sends share one exchange, and a failed
 * exchange is not kept (the next send tries again).
 */
export function cachedAccessToken(credential: Credential, now = Date.now): () => Promise<string> {
  let current: Promise<{ token: string; renewAt: number }> | undefined;

  function fetch(): Promise<{ token: string; renewAt: number }> {
    const pending = credential.getAccessToken().then((t) => {
      if (typeof t.access_token !== 'string' || t.access_token === '' || !Number.isFinite(t.expires_in)) {
        throw new Error('the credential returned no usable access token');
      }
      return { token: t.access_token, renewAt: now() + t.expires_in * 1000 - RENEW_BEFORE_MS };
    });
    pending.catch(() => {
      if (current === pending) current = undefined;
    });
    return pending;
  }

  return async () => {
    const entry = current;
    if (entry !== undefined) {
      const held = await entry;
      if (now() < held.renewAt) return held.token;
      if (current === entry) current = undefined;
    }
    current ??= fetch();
    return (await current).token;
  };
}
