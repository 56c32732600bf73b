/** API key scopes (mirrors the CHECK on api_keys.scopes). */
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
] as const;
export type Scope = (typeof SCOPES)[number];

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}
