import type { Scope } from '../auth/scopes.js';

/** The roles a member of staff may hold (docs/staff.md); a person may hold several. */
export const STAFF_ROLES = ['marketer', 'approver', 'support', 'dpo', 'ops', 'admin'] as const;
export type StaffRole = (typeof STAFF_ROLES)[number];

export function isStaffRole(value: string): value is StaffRole {
  return (STAFF_ROLES as readonly string[]).includes(value);
}

/**
 * What each role may do, as the API scopes the routes already declare: a signed-in person is
 * authorised by the union of their roles' scopes, so every existing route serves staff unchanged.
 * The one table of it: docs/staff.md shows the same.
 */
export const ROLE_SCOPES: Readonly<Record<StaffRole, readonly Scope[]>> = {
  marketer: ['campaigns:write', 'offers:write', 'reports:read'],
  approver: ['campaigns:approve', 'reports:read'],
  support: ['recipients:read', 'recipients:write', 'consents:read', 'consents:write'],
  dpo: ['audit:read', 'dsr', 'consents:read', 'recipients:read'],
  ops: ['ops'],
  admin: ['staff'],
};

/** The scopes of a set of roles, each once, in the order of SCOPES-like first appearance. */
export function scopesOfRoles(roles: readonly StaffRole[]): Scope[] {
  return [...new Set(roles.flatMap((role) => ROLE_SCOPES[role]))];
}
