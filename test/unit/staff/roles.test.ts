import { describe, expect, it } from 'vitest';
import { SCOPES } from '../../../src/auth/scopes.js';
import { ROLE_SCOPES, STAFF_ROLES, scopesOfRoles } from '../../../src/staff/roles.js';

describe('the role → scope table', () => {
  it('gives each role the scopes of its work, and no more', () => {
    expect(ROLE_SCOPES).toEqual({
      marketer: ['campaigns:write', 'offers:write', 'reports:read'],
      approver: ['campaigns:approve', 'reports:read'],
      support: ['recipients:read', 'recipients:write', 'consents:read', 'consents:write'],
      dpo: ['audit:read', 'dsr', 'consents:read', 'recipients:read'],
      ops: ['ops'],
      admin: ['staff'],
    });
  });

  it('reaches every scope through some role', () => {
    const reached = new Set(STAFF_ROLES.flatMap((role) => ROLE_SCOPES[role]));
    expect([...SCOPES].filter((scope) => !reached.has(scope))).toEqual([]);
  });

  it('keeps maker and checker apart: no single role both writes and approves campaigns', () => {
    for (const role of STAFF_ROLES) {
      const scopes = ROLE_SCOPES[role];
      expect(scopes.includes('campaigns:write') && scopes.includes('campaigns:approve')).toBe(false);
    }
  });

  it('gives a person with several roles the union of their scopes, each once', () => {
    expect(scopesOfRoles(['approver', 'marketer'])).toEqual([
      'campaigns:approve',
      'reports:read',
      'campaigns:write',
      'offers:write',
    ]);
    expect(scopesOfRoles([])).toEqual([]);
  });
});
