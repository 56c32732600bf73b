import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { verifyPassword } from '../../../src/staff/password.js';
import { type CliResult, runConsentcast } from '../../support/cli.js';
import { exampleEnv, ROOT } from '../../support/service-env.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';

/** `consentcast …` as a child process with `input` on its standard input. */
function runWithStdin(args: readonly string[], env: Record<string, string>, input: string) {
  return new Promise<CliResult>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', `${ROOT}workers/consentcast.ts`, ...args], {
      cwd: `${ROOT}test`,
      env: { PATH: process.env.PATH, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

describe('the staff command', () => {
  let t: TestDatabase;
  let env: Record<string, string>;
  beforeAll(async () => {
    t = await createTestDatabase();
    env = { ...exampleEnv(), DATABASE_URL: t.appUrl, REDIS_URL: inject('services').redisUrl };
  });
  afterAll(() => t.drop());

  it('creates an admin whose password comes from standard input, never from an argument', async () => {
    const password = 'a long operator password 42';
    const created = await runWithStdin(
      [
        'staff',
        'create-admin',
        '--email',
        'ops.admin@bank.example',
        '--name',
        'Olga',
        '--password-stdin',
        '--json',
      ],
      env,
      `${password}\n`,
    );
    expect(created.code, created.stderr).toBe(0);
    const { id } = JSON.parse(created.stdout) as { id: number };
    const row = await t.db
      .selectFrom('staff')
      .select(['password_hash', 'set_password_token_hash', 'roles'])
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(row.roles).toEqual(['admin']);
    expect(row.set_password_token_hash).toBeNull();
    expect(await verifyPassword(password, row.password_hash ?? '')).toBe(true);
  });

  it('lists staff without secrets, and offboards one by id', async () => {
    const second = await runConsentcast(
      ['staff', 'create-admin', '--email', 'second@bank.example', '--name', 'Sven', '--json'],
      env,
    );
    expect(second.code, second.stderr).toBe(0);
    const { id, set_password_token } = JSON.parse(second.stdout) as {
      id: number;
      set_password_token: string;
    };
    expect(set_password_token).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const listed = await runConsentcast(['staff', 'list', '--json'], env);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).not.toMatch(/scrypt|password|token|totp_secret/);
    expect((JSON.parse(listed.stdout) as { staff: unknown[] }).staff).toHaveLength(2);

    const key = await runConsentcast(
      [
        'api-key',
        'create',
        '--name',
        'sven laptop',
        '--scopes',
        'reports:read',
        '--staff',
        String(id),
        '--json',
      ],
      env,
    );
    expect(key.code, key.stderr).toBe(0);
    const { prefix } = JSON.parse(key.stdout) as { prefix: string };

    const offboarded = await runConsentcast(['staff', 'offboard', String(id), '--actor', 'root.ops'], env);
    expect(offboarded.code, offboarded.stderr).toBe(0);
    expect(offboarded.stdout).toContain('1 API keys revoked');
    const revoked = await t.db
      .selectFrom('api_keys')
      .select(['staff_id', 'revoked_at'])
      .where('key_prefix', '=', prefix)
      .executeTakeFirstOrThrow();
    expect(revoked.staff_id).toBe(id);
    expect(revoked.revoked_at).not.toBeNull();
    const audit = await t.db
      .selectFrom('audit_log')
      .select(['actor_type', 'actor_id'])
      .where('action', '=', 'staff.offboard')
      .executeTakeFirstOrThrow();
    expect(audit).toEqual({ actor_type: 'operator', actor_id: 'root.ops' });
  });

  it('refuses to offboard the last admin, and a usage error is exit code 2', async () => {
    const rows = await t.db.selectFrom('staff').select('id').where('offboarded_at', 'is', null).execute();
    expect(rows).toHaveLength(1);
    const last = await runConsentcast(['staff', 'offboard', String(rows[0]?.id)], env);
    expect(last.code).toBe(1);
    expect(last.stderr).toContain('no admin');
    const usage = await runConsentcast(['staff', 'create-admin', '--email', 'x@bank.example'], env);
    expect(usage.code).toBe(2);
  });
});
