import { parseArgs } from 'node:util';
import { audit } from '../../audit/audit.js';
import { createApiKey, listApiKeys, revokeApiKey } from '../../auth/api-keys.js';
import { isScope, SCOPES, type Scope } from '../../auth/scopes.js';
import type { Db } from '../../db/database.js';
import { NotFoundError } from '../../errors/not-found-error.js';
import { findStaffById } from '../../staff/staff.repository.js';
import type { Command } from '../command.js';
import { EXIT } from '../exit-codes.js';
import { UsageError } from '../usage-error.js';
import { operatorActor, withDeps } from '../with-deps.js';

const USAGE = `api-key create --name NAME --scopes a,b [--expires-days N] [--staff ID] | list | revoke PREFIX   [--actor NAME]`;

/** A key may belong to a person: offboarding them revokes it (docs/staff.md). */
async function liveStaffId(db: Db, id: number): Promise<number> {
  const staff = await findStaffById(db, id);
  if (!staff || staff.offboarded) throw new NotFoundError(`staff member ${id}`);
  return staff.id;
}

export const apiKey: Command = {
  name: 'api-key',
  usage: `${USAGE.padEnd(36)}  manage API keys (shown once; stored hashed)`,
  async run(args, env, out) {
    const {
      values,
      positionals: [action, ...positionals],
    } = parseArgs({
      args: [...args],
      options: {
        name: { type: 'string' },
        scopes: { type: 'string' },
        'expires-days': { type: 'string' },
        staff: { type: 'string' },
        actor: { type: 'string' },
      },
      allowPositionals: true,
      strict: true,
    });
    if (action !== 'create' && action !== 'list' && action !== 'revoke')
      throw new UsageError('expected an action: create, list, revoke');
    return withDeps(env, out, 'api-key', async (deps) => {
      const actor = operatorActor(values.actor);
      if (action === 'create') {
        const name = values.name;
        const scopes = values.scopes?.split(',').map((s) => s.trim()) ?? [];
        const problems: string[] = [];
        if (!name || !/^[A-Za-z0-9 ._-]{1,200}$/.test(name))
          problems.push('--name is required (letters, digits, space . _ -)');
        const unknown = scopes.filter((s) => !isScope(s));
        if (scopes.length === 0)
          problems.push(`--scopes is required: a comma-separated list of ${SCOPES.join(', ')}`);
        if (unknown.length > 0)
          problems.push(`--scopes: unknown ${unknown.join(', ')}; known: ${SCOPES.join(', ')}`);
        const days = values['expires-days'];
        if (days !== undefined && !/^\d{1,4}$/.test(days)) {
          problems.push('--expires-days must be a whole number of days');
        }
        const staffId = values.staff;
        if (staffId !== undefined && !/^[0-9]{1,15}$/.test(staffId))
          problems.push('--staff must be a staff id (see staff list)');
        if (problems.length > 0) throw new UsageError(problems.join('; '));
        const created = await deps.db.transaction().execute(async (trx) => {
          const key = await createApiKey(trx, {
            name: name ?? '',
            scopes: scopes as Scope[],
            createdBy: actor.id,
            ...(days !== undefined ? { expiresAt: new Date(Date.now() + Number(days) * 86_400_000) } : {}),
            ...(staffId !== undefined ? { staffId: await liveStaffId(trx, Number(staffId)) } : {}),
          });
          await audit(trx, {
            actor,
            action: 'api_key.create',
            subjectType: 'api_key',
            subjectId: key.prefix,
            details: {
              name: key.name,
              scopes: [...key.scopes],
              ...(staffId !== undefined ? { staff_id: Number(staffId) } : {}),
            },
          });
          return key;
        });
        out.line(
          `created API key "${created.name}" (prefix ${created.prefix}) with scopes ${created.scopes.join(', ')}`,
        );
        out.line('the key is shown this once; store it now:');
        out.line(created.key);
        out.result({ prefix: created.prefix, name: created.name, scopes: created.scopes, key: created.key });
        return EXIT.ok;
      }
      if (action === 'list') {
        const keys = await listApiKeys(deps.db);
        for (const k of keys) {
          const state = k.revoked_at
            ? 'revoked'
            : k.expires_at && k.expires_at < new Date()
              ? 'expired'
              : 'active';
          out.line(`${k.key_prefix}  ${state.padEnd(7)}  ${k.name}  [${k.scopes.join(', ')}]`);
        }
        out.result({ keys });
        return EXIT.ok;
      }
      if (action === 'revoke') {
        const prefix = positionals[0];
        if (!prefix) throw new UsageError('revoke needs the key prefix (see api-key list)');
        const done = await deps.db.transaction().execute(async (trx) => {
          const revoked = await revokeApiKey(trx, prefix);
          if (revoked)
            await audit(trx, { actor, action: 'api_key.revoke', subjectType: 'api_key', subjectId: prefix });
          return revoked;
        });
        out.line(done ? `revoked ${prefix}` : `no active key with prefix ${prefix}`);
        out.result({ revoked: done });
        return done ? EXIT.ok : EXIT.failure;
      }
      throw new UsageError('expected an action: create, list, revoke');
    });
  },
};
