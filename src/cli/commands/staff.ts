import { parseArgs } from 'node:util';
import { createStaff, offboardStaff } from '../../staff/admin.js';
import { setPasswordWithToken } from '../../staff/sign-in.js';
import { listStaff } from '../../staff/staff.repository.js';
import type { Command } from '../command.js';
import { EXIT } from '../exit-codes.js';
import { UsageError } from '../usage-error.js';
import { operatorActor, withDeps } from '../with-deps.js';

const USAGE =
  'staff create-admin --email E --name N [--password-stdin] | list | offboard ID   [--actor NAME]\n      staff accounts: the first admin (a one-time set-password token is printed), list, offboard';

/** The password from standard input (one line), never from an argument: arguments show in `ps` and shell history. */
async function passwordFromStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin)
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/** Staff accounts from the operator's shell (docs/staff.md, "The first admin"); admins manage the rest over the API. */
export const staff: Command = {
  name: 'staff',
  usage: USAGE,
  async run(args, env, out) {
    const {
      values,
      positionals: [action, ...positionals],
    } = parseArgs({
      args: [...args],
      options: {
        email: { type: 'string' },
        name: { type: 'string' },
        'password-stdin': { type: 'boolean' },
        actor: { type: 'string' },
      },
      allowPositionals: true,
      strict: true,
    });
    if (action !== 'create-admin' && action !== 'list' && action !== 'offboard')
      throw new UsageError('expected an action: create-admin, list, offboard');
    if (action === 'create-admin' && (values.email === undefined || values.name === undefined))
      throw new UsageError('create-admin needs --email and --name');
    const id = positionals[0];
    if (action === 'offboard' && (id === undefined || !/^[0-9]{1,15}$/.test(id)))
      throw new UsageError('offboard needs the staff id (see staff list)');
    const password =
      action === 'create-admin' && values['password-stdin'] ? await passwordFromStdin() : undefined;
    return withDeps(env, out, 'staff', async (deps) => {
      const actor = operatorActor(values.actor);
      const now = new Date();
      if (action === 'create-admin') {
        const created = await createStaff(
          deps.db,
          { email: values.email ?? '', name: values.name ?? '', roles: ['admin'] },
          actor,
          deps.config.staff.setPasswordTokenHours,
          now,
        );
        if (password !== undefined) {
          await setPasswordWithToken(deps.db, { token: created.setPasswordToken, password }, now);
          out.line(
            `created admin ${created.id}; the password is set. Enrol TOTP next: POST /v1/auth/totp/enrol`,
          );
          out.result({ id: created.id });
          return EXIT.ok;
        }
        out.line(
          `created admin ${created.id}. The one-time set-password token (shown this once, until ${created.tokenExpiresAt.toISOString()}):`,
        );
        out.line(created.setPasswordToken);
        out.result({
          id: created.id,
          set_password_token: created.setPasswordToken,
          token_expires_at: created.tokenExpiresAt,
        });
        return EXIT.ok;
      }
      if (action === 'list') {
        const rows = await listStaff(deps.db);
        for (const row of rows) {
          const state = row.offboarded_at ? 'offboarded' : row.totp_enrolled_at ? 'active' : 'enrolling';
          out.line(
            `${String(row.id).padStart(5)}  ${state.padEnd(10)}  ${row.email}  ${row.name}  [${row.roles.join(', ')}]`,
          );
        }
        out.result({ staff: rows });
        return EXIT.ok;
      }
      const done = await offboardStaff(deps.db, Number(id), actor, now);
      out.line(
        `offboarded ${id}: ${done.sessionsEnded} sessions ended, ${done.keysRevoked} API keys revoked`,
      );
      out.result({ id: Number(id), sessions_ended: done.sessionsEnded, keys_revoked: done.keysRevoked });
      return EXIT.ok;
    });
  },
};
