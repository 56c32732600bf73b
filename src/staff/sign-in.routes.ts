import { Type } from '@sinclair/typebox';
import { audit } from '../audit/audit.js';
import { actorOf } from '../http/auth.js';
import type { HttpContext, TypedApp } from '../http/context.js';
import { UnauthorizedError } from '../http/http-errors.js';
import { ERROR_RESPONSES, Timestamp } from '../http/schemas.js';
import { clearSessionCookie, setSessionCookie } from '../http/staff-session.js';
import { STAFF_ROLES, scopesOfRoles } from './roles.js';
import { endSession } from './sessions.js';
import { setPasswordWithToken, signIn, startTotpEnrolment } from './sign-in.js';
import { findStaffById } from './staff.repository.js';

const Email = Type.String({ minLength: 3, maxLength: 254 });
const Password = Type.String({ minLength: 1, maxLength: 200 });
const Code = Type.String({ pattern: '^[0-9]{6}$', description: 'the 6-digit TOTP code' });
const Role = Type.Union(STAFF_ROLES.map((r) => Type.Literal(r)));

const Me = Type.Object({
  staff_id: Type.Integer(),
  name: Type.String(),
  roles: Type.Array(Role),
  scopes: Type.Array(Type.String()),
});

/**
 * Staff sign-in (docs/staff.md): set a password with a one-time token, enrol TOTP, sign in with
 * e-mail + password + code in one request (the session cookie and a CSRF token come back), who am I,
 * a fresh CSRF token, sign out. The pre-session routes are public; they take JSON only, which a
 * cross-site form cannot send, and every attempt is audited.
 */
export function registerSignInRoutes(app: TypedApp, ctx: HttpContext): void {
  const { db } = ctx.deps;
  const settings = ctx.staffSession;

  app.post(
    '/auth/set-password',
    {
      config: { public: true },
      schema: {
        summary: 'Set a password with the one-time token an admin (or `staff create-admin`) gave out',
        tags: ['staff sign-in'],
        security: [],
        body: Type.Object(
          { token: Type.String({ minLength: 1, maxLength: 100 }), password: Password },
          { additionalProperties: false },
        ),
        response: { 204: Type.Null(), ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const staffId = await setPasswordWithToken(db, { ...request.body, requestId: request.id }, new Date());
      if (staffId === undefined) throw new UnauthorizedError('the token is unknown, spent or expired');
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/auth/totp/enrol',
    {
      config: { public: true },
      schema: {
        summary:
          'Start TOTP enrolment (first sign-in, or after an admin reset): the secret is shown this once',
        description:
          'Add the `otpauth_uri` to an authenticator app, then sign in with its first code: that confirms the enrolment. Wrong passwords count towards the lockout.',
        tags: ['staff sign-in'],
        security: [],
        body: Type.Object({ email: Email, password: Password }, { additionalProperties: false }),
        response: {
          200: Type.Object({ otpauth_uri: Type.String(), secret: Type.String() }),
          ...ERROR_RESPONSES,
        },
      },
    },
    async (request, reply) => {
      const outcome = await startTotpEnrolment(
        db,
        { ...request.body, requestId: request.id },
        settings.totpKey,
        new Date(),
      );
      if (outcome.ok) return { otpauth_uri: outcome.otpauthUri, secret: outcome.secret };
      if (outcome.reason === 'already_enrolled')
        return reply
          .code(409)
          .send({ error: 'already_enrolled', message: 'TOTP is enrolled; an admin can reset it' });
      return reply.code(401).send(signInRefusal(outcome.reason));
    },
  );

  app.post(
    '/auth/sign-in',
    {
      config: { public: true },
      schema: {
        summary: 'Sign in with e-mail, password and TOTP code: sets the session cookie, returns a CSRF token',
        description:
          'Both factors in one request, so a refusal never tells which was wrong. Five wrong attempts lock the account for 5 minutes, doubling with each further lock. Send the CSRF token as `x-csrf-token` on every state-changing request made with the session.',
        tags: ['staff sign-in'],
        security: [],
        body: Type.Object({ email: Email, password: Password, code: Code }, { additionalProperties: false }),
        response: {
          200: Type.Object({ staff_id: Type.Integer(), csrf_token: Type.String(), expires_at: Timestamp }),
          ...ERROR_RESPONSES,
        },
      },
    },
    async (request, reply) => {
      const outcome = await signIn(db, { ...request.body, requestId: request.id }, settings, new Date());
      if (!outcome.ok) {
        if (outcome.reason === 'enrolment_required')
          return reply.code(403).send({
            error: 'totp_enrolment_required',
            message: 'enrol TOTP first: POST /v1/auth/totp/enrol',
          });
        return reply.code(401).send(signInRefusal(outcome.reason));
      }
      setSessionCookie(reply, settings, outcome.token, outcome.expiresAt);
      const csrfToken = reply.generateCsrf({ userInfo: outcome.idHash });
      return { staff_id: outcome.staffId, csrf_token: csrfToken, expires_at: outcome.expiresAt };
    },
  );

  app.get(
    '/auth/csrf',
    {
      config: { session: true },
      schema: {
        summary: 'A CSRF token for this session (send it as `x-csrf-token` on state changes)',
        tags: ['staff sign-in'],
        response: { 200: Type.Object({ csrf_token: Type.String() }), ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const principal = request.principal;
      if (principal?.kind !== 'staff') throw new UnauthorizedError('not signed in');
      return { csrf_token: reply.generateCsrf({ userInfo: principal.sessionHash }) };
    },
  );

  app.get(
    '/auth/me',
    {
      config: { session: true },
      schema: {
        summary: 'Who am I: the signed-in person, their roles and what those allow',
        tags: ['staff sign-in'],
        response: { 200: Me, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const principal = request.principal;
      if (principal?.kind !== 'staff') throw new UnauthorizedError('not signed in');
      const staff = await findStaffById(db, principal.staffId);
      if (!staff) throw new UnauthorizedError('not signed in');
      return {
        staff_id: staff.id,
        name: staff.name,
        roles: [...staff.roles],
        scopes: scopesOfRoles(staff.roles),
      };
    },
  );

  app.post(
    '/auth/sign-out',
    {
      config: { session: true },
      schema: {
        summary: 'Sign out: the session ends now (needs the CSRF token)',
        tags: ['staff sign-in'],
        response: { 204: Type.Null(), ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const principal = request.principal;
      if (principal?.kind !== 'staff') throw new UnauthorizedError('not signed in');
      await db.transaction().execute(async (trx) => {
        await endSession(trx, principal.sessionHash);
        await audit(trx, {
          actor: actorOf(request),
          action: 'staff.sign_out',
          subjectType: 'staff',
          subjectId: principal.staffId,
          requestId: request.id,
        });
      });
      clearSessionCookie(reply, settings);
      return reply.code(204).send(null);
    },
  );
}

function signInRefusal(reason: 'invalid' | 'locked'): { error: string; message: string } {
  return reason === 'locked'
    ? { error: 'locked', message: 'too many failed attempts; the account is locked for a while' }
    : { error: 'unauthorized', message: 'the e-mail address, password or code is wrong' };
}
