import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import type { CheckResult } from './readiness.js';

/**
 * Whether the application connects as a role that can rewrite neither consent evidence nor the audit
 * log (N11, N16): not a superuser, not the owner of the schema, and not a member of the owner either
 * — a member may `SET ROLE` to it (and with INHERIT acts as it anyway), which is the same as owning.
 *
 * The owner is read from the database, not from configuration (no role reads DATABASE_OWNER_URL):
 * the owners of the tables the append-only rules protect and of the migration table, and the owner
 * of the schema they are in (it may drop them), or of the current schema before any migration ran.
 * `pg_has_role(..., 'MEMBER')` is true for the role itself and for direct or indirect members,
 * whether or not they inherit.
 */
export async function checkDatabaseRole(db: Db): Promise<CheckResult> {
  const { rows } = await sql<{
    name: string;
    superuser: boolean;
    owner: string | null;
    member: boolean | null;
  }>`
    WITH owners AS (
      SELECT c.relowner AS owner
      FROM pg_class c
      WHERE c.oid IN (to_regclass('consent_events'), to_regclass('audit_log'), to_regclass('kysely_migration'))
      UNION
      SELECT n.nspowner
      FROM pg_namespace n
      WHERE n.oid IN (
        SELECT c.relnamespace FROM pg_class c WHERE c.oid = to_regclass('consent_events')
        UNION
        SELECT n2.oid FROM pg_namespace n2 WHERE n2.nspname = current_schema()
      )
    )
    SELECT current_user::text AS name,
           r.rolsuper AS superuser,
           pg_get_userbyid(o.owner)::text AS owner,
           pg_has_role(current_user, o.owner, 'MEMBER') AS member
    FROM pg_roles r
    LEFT JOIN owners o ON true
    WHERE r.rolname = current_user
    ORDER BY 3
  `.execute(db);
  const me = rows[0];
  if (me === undefined) return { ok: false, detail: 'unknown (the current role is not in pg_roles)' };
  if (me.superuser)
    return { ok: false, detail: `${me.name} is a superuser; connect as the application role` };
  const owned = rows.find((r) => r.member && r.owner === me.name);
  if (owned !== undefined) {
    return { ok: false, detail: `${me.name} is the schema owner; connect as the application role` };
  }
  const memberships = rows.filter((r) => r.member);
  // pg_database_owner's members are the database's owner and the owner's members: name the owner role
  const member = memberships.find((r) => r.owner !== 'pg_database_owner');
  if (member !== undefined) {
    return {
      ok: false,
      detail: `${me.name} is a member of ${member.owner}, which owns the schema, so it could rewrite consent evidence; revoke the membership (REVOKE ${member.owner} FROM ${me.name})`,
    };
  }
  if (memberships.length > 0) {
    return {
      ok: false,
      detail: `${me.name} owns the database, and so (pg_database_owner) the schema; make the owner role own the database`,
    };
  }
  return { ok: true, detail: `${me.name} (not owner, not a member of it, not superuser)` };
}
