/**
 * API key scopes (mirrors the CHECK on api_keys.scopes). Staff hold them through their roles
 * (src/staff/roles.ts); `staff` is managing staff accounts.
 */
export const SCOPES = [
  'recipients:read',
  'recipients:write',
  'consents:read',
  'consents:write',
  'dsr',
  'offers:write',
  'campaigns:write',
  'campaigns:approve',
  'reports:read',
  'ops',
  'audit:read',
  'staff',
] as const;
export type Scope = (typeof SCOPES)[number];

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}
