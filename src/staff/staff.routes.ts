import { Type } from '@sinclair/typebox';
import { actorOf } from '../http/auth.js';
import type { HttpContext, TypedApp } from '../http/context.js';
import { ERROR_RESPONSES, Nullable, Timestamp } from '../http/schemas.js';
import { changeRoles, createStaff, issuePasswordToken, offboardStaff, resetTotp } from './admin.js';
import { isStaffRole, STAFF_ROLES, type StaffRole } from './roles.js';
import { listStaff } from './staff.repository.js';

const Role = Type.Union(STAFF_ROLES.map((r) => Type.Literal(r)));
const Roles = Type.Array(Role, { minItems: 1, uniqueItems: true });
const IdParams = Type.Object(
  { id: Type.String({ pattern: '^[0-9]{1,15}$' }) },
  { additionalProperties: false },
);
const Token = Type.Object({
  set_password_token: Type.String({ description: 'one-time; shown this once; POST /v1/auth/set-password' }),
  token_expires_at: Timestamp,
});
const StaffView = Type.Object({
  id: Type.Integer(),
  email: Type.String(),
  name: Type.String(),
  roles: Type.Array(Role),
  totp_enrolled: Type.Boolean(),
  locked_until: Nullable(Timestamp),
  created_at: Timestamp,
  offboarded_at: Nullable(Timestamp),
});

/** Staff administration (scope `staff`, the admin role): create, list, change roles, reset TOTP, offboard. */
export function registerStaffRoutes(app: TypedApp, ctx: HttpContext): void {
  const { db, config } = ctx.deps;
  const tokenHours = config.staff.setPasswordTokenHours;

  app.post(
    '/staff',
    {
      config: { scope: 'staff' },
      schema: {
        summary: 'Create a staff account; returns the one-time set-password token to hand to the person',
        tags: ['staff'],
        body: Type.Object(
          {
            email: Type.String({ minLength: 3, maxLength: 254 }),
            name: Type.String({ minLength: 1, maxLength: 200 }),
            roles: Roles,
          },
          { additionalProperties: false },
        ),
        response: { 201: Type.Intersect([Type.Object({ id: Type.Integer() }), Token]), ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const created = await createStaff(
        db,
        { ...request.body, requestId: request.id },
        actorOf(request),
        tokenHours,
        new Date(),
      );
      return reply.code(201).send({
        id: created.id,
        set_password_token: created.setPasswordToken,
        token_expires_at: created.tokenExpiresAt,
      });
    },
  );

  app.get(
    '/staff',
    {
      config: { scope: 'staff' },
      schema: {
        summary: 'Every staff account, offboarded ones included',
        tags: ['staff'],
        response: { 200: Type.Object({ staff: Type.Array(StaffView) }), ...ERROR_RESPONSES },
      },
    },
    async () => {
      const rows = await listStaff(db);
      return {
        staff: rows.map((row) => ({
          id: row.id,
          email: row.email,
          name: row.name,
          roles: row.roles.filter(isStaffRole),
          totp_enrolled: row.totp_enrolled_at !== null,
          locked_until: row.locked_until,
          created_at: row.created_at,
          offboarded_at: row.offboarded_at,
        })),
      };
    },
  );

  app.put(
    '/staff/:id/roles',
    {
      config: { scope: 'staff' },
      schema: {
        summary: "Replace a person's roles (applies to their sessions on the next request)",
        tags: ['staff'],
        params: IdParams,
        body: Type.Object({ roles: Roles }, { additionalProperties: false }),
        response: { 204: Type.Null(), ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const roles: StaffRole[] = request.body.roles;
      await changeRoles(db, Number(request.params.id), roles, actorOf(request), request.id);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/staff/:id/totp-reset',
    {
      config: { scope: 'staff' },
      schema: {
        summary: 'A lost device: clear the second factor and end the sessions; the person enrols again',
        tags: ['staff'],
        params: IdParams,
        response: { 204: Type.Null(), ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      await resetTotp(db, Number(request.params.id), actorOf(request), request.id);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/staff/:id/password-token',
    {
      config: { scope: 'staff' },
      schema: {
        summary: 'A forgotten password: a new one-time set-password token',
        tags: ['staff'],
        params: IdParams,
        response: { 200: Token, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const issued = await issuePasswordToken(
        db,
        Number(request.params.id),
        actorOf(request),
        tokenHours,
        new Date(),
        request.id,
      );
      return { set_password_token: issued.setPasswordToken, token_expires_at: issued.tokenExpiresAt };
    },
  );

  app.post(
    '/staff/:id/offboard',
    {
      config: { scope: 'staff' },
      schema: {
        summary: "Offboard: close the account; the person's sessions and API keys stop working at once",
        tags: ['staff'],
        params: IdParams,
        response: {
          200: Type.Object({ sessions_ended: Type.Integer(), keys_revoked: Type.Integer() }),
          ...ERROR_RESPONSES,
        },
      },
    },
    async (request) => {
      const done = await offboardStaff(
        db,
        Number(request.params.id),
        actorOf(request),
        new Date(),
        request.id,
      );
      return { sessions_ended: done.sessionsEnded, keys_revoked: done.keysRevoked };
    },
  );
}
