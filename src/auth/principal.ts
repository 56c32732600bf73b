import type { ApiKeyPrincipal } from './api-keys.js';
import type { Scope } from './scopes.js';

/** A member of staff signed in with a session cookie (src/staff/sessions.ts). */
export interface StaffPrincipal {
  readonly kind: 'staff';
  readonly staffId: number;
  readonly scopes: readonly Scope[];
  /** SHA-256 of the session cookie: what the CSRF token is bound to. */
  readonly sessionHash: string;
}

/** Who an authenticated request comes from: an API key, or a person's session. */
export type Principal = (ApiKeyPrincipal & { readonly kind: 'api_key' }) | StaffPrincipal;
