import { createHash } from 'node:crypto';
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createApiKey, revokeApiKey } from '../../../src/auth/api-keys.js';
import { staff as staffCommand } from '../../../src/cli/commands/staff.js';
import { createOutput } from '../../../src/cli/output.js';
import { pruneEndedSessions } from '../../../src/staff/sessions.js';
import { exampleEnv } from '../../support/service-env.js';
import { createTestApp, type TestApp } from '../../support/test-app.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';
import { offerInput } from '../../unit/offers/offer-fixture.js';

/** A signed-in person as a browser holds them: the cookies, the CSRF token, and what the test knows. */
interface Browser {
  readonly staffId: number;
  readonly cookies: Record<string, string>;
  readonly csrf: string;
  readonly secret: string;
}

const PASSWORD = 'correct horse battery staple';

describe('staff sign-in, sessions and offboarding', () => {
  let t: TestDatabase;
  let api: TestApp;
  let admin: Browser;
  let marketer: Browser;
  const marketerEmail = 'marketer@bank.example';

  beforeAll(async () => {
    t = await createTestDatabase();
    api = await createTestApp(t);
  });
  afterAll(async () => {
    await api?.close();
    await t?.drop();
  });

  type Method = 'GET' | 'POST' | 'PUT';
  const call = (
    method: Method,
    url: string,
    options: { browser?: Browser; csrf?: string | false; payload?: unknown; key?: string } = {},
  ) =>
    api.app.inject({
      method,
      url,
      ...(options.browser ? { cookies: options.browser.cookies } : {}),
      headers: {
        ...(options.key !== undefined ? { authorization: `Bearer ${options.key}` } : {}),
        ...(options.browser && options.csrf !== false
          ? { 'x-csrf-token': options.csrf ?? options.browser.csrf }
          : {}),
      },
      ...(options.payload !== undefined ? { payload: options.payload as Record<string, unknown> } : {}),
    });

  /** A fresh code: the last accepted step is forgotten, since a code works once (tested below). */
  async function codeFor(secret: string, staffId: number): Promise<string> {
    await t.db.updateTable('staff').set({ totp_last_step: null }).where('id', '=', staffId).execute();
    return generate({ secret });
  }

  async function signIn(email: string, secret: string, staffId: number, password = PASSWORD) {
    return call('POST', '/v1/auth/sign-in', {
      payload: { email, password, code: await codeFor(secret, staffId) },
    });
  }

  function browserOf(response: Awaited<ReturnType<typeof call>>, secret: string): Browser {
    const body = response.json<{ staff_id: number; csrf_token: string }>();
    const cookies = Object.fromEntries(response.cookies.map((c) => [c.name, c.value]));
    return { staffId: body.staff_id, cookies, csrf: body.csrf_token, secret };
  }

  /** The person's first steps: set the password with the token, enrol TOTP, sign in with its first code. */
  async function firstSignIn(email: string, token: string): Promise<Browser> {
    const set = await call('POST', '/v1/auth/set-password', { payload: { token, password: PASSWORD } });
    expect(set.statusCode, set.body).toBe(204);
    const notEnrolled = await call('POST', '/v1/auth/sign-in', {
      payload: { email, password: PASSWORD, code: '123456' },
    });
    expect(notEnrolled.json()).toMatchObject({ error: 'totp_enrolment_required' });
    const enrol = await call('POST', '/v1/auth/totp/enrol', { payload: { email, password: PASSWORD } });
    expect(enrol.statusCode, enrol.body).toBe(200);
    const { otpauth_uri, secret } = enrol.json<{ otpauth_uri: string; secret: string }>();
    expect(otpauth_uri).toMatch(/^otpauth:\/\/totp\/consentcast:staff-\d+\?secret=/);
    const row = await t.db
      .selectFrom('staff')
      .select('id')
      .where('email', '=', email)
      .executeTakeFirstOrThrow();
    const signedIn = await signIn(email, secret, row.id);
    expect(signedIn.statusCode, signedIn.body).toBe(200);
    return browserOf(signedIn, secret);
  }

  const auditOf = (action: string) =>
    t.db.selectFrom('audit_log').selectAll().where('action', '=', action).orderBy('id').execute();

  it('creates the first admin with the CLI, who sets a password, enrols TOTP and signs in', async () => {
    const written: string[] = [];
    const sink = { write: (text: string) => written.push(text) };
    const env = { ...exampleEnv(), DATABASE_URL: t.appUrl, REDIS_URL: inject('services').redisUrl };
    const code = await staffCommand.run(
      ['create-admin', '--email', 'Admin@Bank.example', '--name', 'Ada Admin', '--actor', 'root.ops'],
      env,
      createOutput(true, sink, sink),
    );
    expect(code, written.join('')).toBe(0);
    const created = JSON.parse(written.join('')) as { id: number; set_password_token: string };
    admin = await firstSignIn('admin@bank.example', created.set_password_token);
    expect(admin.staffId).toBe(created.id);
    const me = await call('GET', '/v1/auth/me', { browser: admin });
    expect(me.json()).toMatchObject({ staff_id: created.id, roles: ['admin'], scopes: ['staff'] });
  });

  it('lets the admin create a marketer, who signs up and signs in', async () => {
    const created = await call('POST', '/v1/staff', {
      browser: admin,
      payload: { email: marketerEmail, name: 'Mara Marketer', roles: ['marketer'] },
    });
    expect(created.statusCode, created.body).toBe(201);
    const { id, set_password_token } = created.json<{ id: number; set_password_token: string }>();
    marketer = await firstSignIn(marketerEmail, set_password_token);
    expect(marketer.staffId).toBe(id);
    const [entry] = await auditOf('staff.create').then((rows) =>
      rows.filter((r) => r.subject_id === String(id)),
    );
    expect(entry).toMatchObject({ actor_type: 'staff', actor_id: `staff:${admin.staffId}` });
  });

  it('sets the session cookie HttpOnly, SameSite=Strict, Path=/, with an absolute expiry', async () => {
    const response = await signIn(marketerEmail, marketer.secret, marketer.staffId);
    const session = response.cookies.find((c) => c.name === 'cc_session');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });
    expect(session?.secure).toBeFalsy();
    expect(session?.expires?.getTime()).toBeGreaterThan(Date.now() + 11 * 3_600_000);
    expect(response.headers['content-security-policy']).toContain("default-src 'none'");
  });

  it('makes the cookie Secure and __Host- prefixed when PUBLIC_BASE_URL is https', async () => {
    const https = await createTestApp(t, { PUBLIC_BASE_URL: 'https://console.bank.example' });
    try {
      const response = await https.app.inject({
        method: 'POST',
        url: '/v1/auth/sign-in',
        payload: {
          email: marketerEmail,
          password: PASSWORD,
          code: await codeFor(marketer.secret, marketer.staffId),
        },
      });
      expect(response.statusCode, response.body).toBe(200);
      const session = response.cookies.find((c) => c.name === '__Host-cc_session');
      expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/', secure: true });
    } finally {
      await https.close();
    }
  });

  it('refuses a wrong TOTP code and a wrong password, and audits both failures with the staff id', async () => {
    const before = (await auditOf('staff.sign_in.failure')).length;
    const wrongCode = await call('POST', '/v1/auth/sign-in', {
      payload: { email: marketerEmail, password: PASSWORD, code: '000000' },
    });
    expect(wrongCode.statusCode).toBe(401);
    const wrongPassword = await call('POST', '/v1/auth/sign-in', {
      payload: {
        email: marketerEmail,
        password: 'not the password',
        code: await codeFor(marketer.secret, marketer.staffId),
      },
    });
    expect(wrongPassword.statusCode).toBe(401);
    expect(wrongPassword.json()).toEqual(wrongCode.json()); // which factor was wrong is not said
    const failures = (await auditOf('staff.sign_in.failure')).slice(before);
    expect(failures.map((f) => [f.actor_type, f.actor_id, f.details])).toEqual([
      ['staff', `staff:${marketer.staffId}`, { reason: 'totp' }],
      ['staff', `staff:${marketer.staffId}`, { reason: 'password' }],
    ]);
    await t.db.updateTable('staff').set({ failed_attempts: 0 }).where('id', '=', marketer.staffId).execute();
  });

  it('accepts a code once', async () => {
    const code = await codeFor(marketer.secret, marketer.staffId);
    const first = await call('POST', '/v1/auth/sign-in', {
      payload: { email: marketerEmail, password: PASSWORD, code },
    });
    expect(first.statusCode).toBe(200);
    const again = await call('POST', '/v1/auth/sign-in', {
      payload: { email: marketerEmail, password: PASSWORD, code },
    });
    expect(again.statusCode).toBe(401);
    await t.db.updateTable('staff').set({ failed_attempts: 0 }).where('id', '=', marketer.staffId).execute();
  });

  it('locks the account after five wrong passwords; the right one fails until the lock passes', async () => {
    for (let i = 0; i < 5; i += 1) {
      const wrong = await call('POST', '/v1/auth/sign-in', {
        payload: { email: marketerEmail, password: `wrong password ${i}`, code: '000000' },
      });
      expect(wrong.statusCode).toBe(401);
    }
    const lockouts = await auditOf('staff.sign_in.lockout');
    expect(lockouts.at(-1)).toMatchObject({
      actor_id: `staff:${marketer.staffId}`,
      details: { lockouts: 1 },
    });
    const whileLocked = await signIn(marketerEmail, marketer.secret, marketer.staffId);
    expect(whileLocked.statusCode).toBe(401);
    expect(whileLocked.json()).toMatchObject({ error: 'locked' });
    expect((await auditOf('staff.sign_in.refused')).at(-1)).toMatchObject({ details: { reason: 'locked' } });

    // The lock passes: its end is moved into the past instead of waiting five minutes.
    await t.db
      .updateTable('staff')
      .set({ locked_until: new Date(Date.now() - 1000) })
      .where('id', '=', marketer.staffId)
      .execute();
    const afterLock = await signIn(marketerEmail, marketer.secret, marketer.staffId);
    expect(afterLock.statusCode, afterLock.body).toBe(200);
    const row = await t.db
      .selectFrom('staff')
      .select(['failed_attempts', 'lockouts', 'locked_until'])
      .where('id', '=', marketer.staffId)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ failed_attempts: 0, lockouts: 0, locked_until: null });
    expect((await auditOf('staff.sign_in.success')).at(-1)).toMatchObject({
      actor_id: `staff:${marketer.staffId}`,
    });
  });

  it('refuses a state change made with the session but without the CSRF token, and changes nothing', async () => {
    const offers = () => t.db.selectFrom('offers').select('id').execute();
    const before = (await offers()).length;
    const refused = await call('POST', '/v1/offers', {
      browser: marketer,
      csrf: false,
      payload: offerInput(),
    });
    expect(refused.statusCode).toBe(403);
    expect(await offers()).toHaveLength(before);
    const forged = await call('POST', '/v1/offers', {
      browser: marketer,
      csrf: 'not-a-token',
      payload: offerInput(),
    });
    expect(forged.statusCode).toBe(403);
    expect(await offers()).toHaveLength(before);
    const allowed = await call('POST', '/v1/offers', { browser: marketer, payload: offerInput() });
    expect(allowed.statusCode, allowed.body).toBe(201);
    expect(await offers()).toHaveLength(before + 1);
  });

  it('gives a marketer session 403 on a support route and on staff administration', async () => {
    const support = await call('GET', '/v1/recipients/C-1', { browser: marketer });
    expect(support.statusCode).toBe(403);
    const admin_ = await call('GET', '/v1/staff', { browser: marketer });
    expect(admin_.statusCode).toBe(403);
  });

  it("does not let one person's session act as another", async () => {
    // The marketer's CSRF token does not work with the admin's session: tokens are bound to their session.
    const crossed = await call('POST', '/v1/staff', {
      browser: admin,
      csrf: marketer.csrf,
      payload: { email: 'x@bank.example', name: 'X', roles: ['ops'] },
    });
    expect(crossed.statusCode).toBe(403);
    const me = await call('GET', '/v1/auth/me', { browser: marketer });
    expect(me.json()).toMatchObject({ staff_id: marketer.staffId, roles: ['marketer'] });
    // A session cookie that is not one the server issued is no session at all.
    const guessed = await call('GET', '/v1/auth/me', {
      browser: { ...marketer, cookies: { ...marketer.cookies, cc_session: 'A'.repeat(43) } },
    });
    expect(guessed.statusCode).toBe(401);
  });

  it('applies a role change to the next request of an existing session', async () => {
    const changed = await call('PUT', `/v1/staff/${marketer.staffId}/roles`, {
      browser: admin,
      payload: { roles: ['marketer', 'support'] },
    });
    expect(changed.statusCode, changed.body).toBe(204);
    const support = await call('GET', '/v1/recipients/C-1', { browser: marketer });
    expect(support.statusCode).toBe(404); // allowed now; the person does not exist
  });

  it('ends the session at sign-out', async () => {
    const other = browserOf(await signIn(marketerEmail, marketer.secret, marketer.staffId), marketer.secret);
    const out = await call('POST', '/v1/auth/sign-out', { browser: other });
    expect(out.statusCode, out.body).toBe(204);
    expect((await call('GET', '/v1/auth/me', { browser: other })).statusCode).toBe(401);
    expect((await call('GET', '/v1/auth/me', { browser: marketer })).statusCode).toBe(200);
  });

  it('ends a session after the idle limit and after the absolute limit', async () => {
    const first = browserOf(await signIn(marketerEmail, marketer.secret, marketer.staffId), marketer.secret);
    const second = browserOf(await signIn(marketerEmail, marketer.secret, marketer.staffId), marketer.secret);
    const hashOf = (b: Browser) =>
      createHash('sha256')
        .update(b.cookies.cc_session ?? '')
        .digest('hex');
    expect((await call('GET', '/v1/auth/me', { browser: first })).statusCode).toBe(200);
    // 31 minutes without a request (STAFF_SESSION_IDLE_MINUTES is 30)
    await t.db
      .updateTable('staff_sessions')
      .set({ last_seen_at: new Date(Date.now() - 31 * 60_000) })
      .where('id_hash', '=', hashOf(first))
      .execute();
    expect((await call('GET', '/v1/auth/me', { browser: first })).statusCode).toBe(401);
    // past the absolute end, however recently used
    await t.db
      .updateTable('staff_sessions')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where('id_hash', '=', hashOf(second))
      .execute();
    expect((await call('GET', '/v1/auth/me', { browser: second })).statusCode).toBe(401);
    // maintenance deletes both rows; the live sessions stay
    const live = await t.db.selectFrom('staff_sessions').select('id_hash').execute();
    const pruned = await pruneEndedSessions(
      t.db,
      { idleMs: 30 * 60_000, absoluteMs: 12 * 3_600_000 },
      new Date(),
    );
    expect(pruned).toBeGreaterThanOrEqual(2);
    const left = await t.db.selectFrom('staff_sessions').select('id_hash').execute();
    expect(left.map((r) => r.id_hash)).not.toContain(hashOf(first));
    expect(left.map((r) => r.id_hash)).not.toContain(hashOf(second));
    expect(left.length).toBe(live.length - pruned);
    expect((await call('GET', '/v1/auth/me', { browser: marketer })).statusCode).toBe(200);
  });

  it('lets an admin reset a lost TOTP device: the sessions end and the person enrols again', async () => {
    const created = await call('POST', '/v1/staff', {
      browser: admin,
      payload: { email: 'support@bank.example', name: 'Sam Support', roles: ['support'] },
    });
    const { set_password_token } = created.json<{ set_password_token: string }>();
    const support = await firstSignIn('support@bank.example', set_password_token);
    const reEnrolTooEarly = await call('POST', '/v1/auth/totp/enrol', {
      payload: { email: 'support@bank.example', password: PASSWORD },
    });
    expect(reEnrolTooEarly.statusCode).toBe(409);
    const reset = await call('POST', `/v1/staff/${support.staffId}/totp-reset`, { browser: admin });
    expect(reset.statusCode, reset.body).toBe(204);
    expect((await call('GET', '/v1/auth/me', { browser: support })).statusCode).toBe(401);
    const spent = await call('POST', '/v1/auth/set-password', {
      payload: { token: set_password_token, password: 'another long password' },
    });
    expect(spent.statusCode).toBe(401); // the token was spent: the password stays, only TOTP is new
    expect(
      (
        await call('POST', '/v1/auth/sign-in', {
          payload: { email: 'support@bank.example', password: PASSWORD, code: '123456' },
        })
      ).json(),
    ).toMatchObject({ error: 'totp_enrolment_required' });
    const enrol = await call('POST', '/v1/auth/totp/enrol', {
      payload: { email: 'support@bank.example', password: PASSWORD },
    });
    expect(enrol.statusCode).toBe(200);
    const { secret } = enrol.json<{ secret: string }>();
    const stored = await t.db
      .selectFrom('staff')
      .select('totp_secret')
      .where('id', '=', support.staffId)
      .executeTakeFirstOrThrow();
    expect(stored.totp_secret).toMatch(/^v1\./); // sealed at rest, not the secret itself
    expect(stored.totp_secret).not.toContain(secret);
    expect((await signIn('support@bank.example', secret, support.staffId)).statusCode).toBe(200);
  });

  it("ends the person's sessions and API keys at once when they are offboarded", async () => {
    const key = await createApiKey(api.deps.db, {
      name: 'mara laptop',
      scopes: ['offers:write'],
      createdBy: 'test',
      staffId: marketer.staffId,
    });
    expect((await call('GET', '/v1/offers', { key: key.key })).statusCode).toBe(200);
    expect((await call('GET', '/v1/offers', { browser: marketer })).statusCode).toBe(200);
    const offboarded = await call('POST', `/v1/staff/${marketer.staffId}/offboard`, { browser: admin });
    expect(offboarded.statusCode, offboarded.body).toBe(200);
    const ended = offboarded.json<{ sessions_ended: number; keys_revoked: number }>();
    expect(ended.keys_revoked).toBe(1);
    expect(ended.sessions_ended).toBeGreaterThanOrEqual(1); // every sign-in of this file left one
    expect((await call('GET', '/v1/offers', { key: key.key })).statusCode).toBe(401);
    expect((await call('GET', '/v1/offers', { browser: marketer })).statusCode).toBe(401);
    const again = await call('POST', '/v1/auth/sign-in', {
      payload: {
        email: marketerEmail,
        password: PASSWORD,
        code: await codeFor(marketer.secret, marketer.staffId),
      },
    });
    expect(again.statusCode).toBe(401);
  });

  it('stops a revoked API key on the very next request (no cache of accepted keys)', async () => {
    const key = await createApiKey(api.deps.db, { name: 'svc', scopes: ['offers:write'], createdBy: 'test' });
    expect((await call('GET', '/v1/offers', { key: key.key })).statusCode).toBe(200);
    expect(await revokeApiKey(api.deps.db, key.prefix)).toBe(true);
    expect((await call('GET', '/v1/offers', { key: key.key })).statusCode).toBe(401);
  });

  it('writes no password, code or e-mail address into the audit log or the logs', async () => {
    const rows = await t.db.selectFrom('audit_log').selectAll().where('action', 'like', 'staff.%').execute();
    expect(rows.length).toBeGreaterThan(10);
    const text = JSON.stringify(rows) + api.logs.join('');
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toContain(marketerEmail);
    expect(text).not.toContain('admin@bank.example');
  });
});
