import { randomBytes, timingSafeEqual } from 'node:crypto';
import { sha256Hex } from '../crypto/pseudonym.js';
import type { Db } from '../db/database.js';
import { isScope, type Scope } from './scopes.js';

/**
 * API keys look like `cc_<prefix>_<secret>`. The prefix finds the row; only the SHA-256 of the
 * whole key is stored (the secret is 32 random bytes, so a slow hash adds nothing). The key is shown
 * once, at creation.
 */
export interface ApiKeyPrincipal {
  readonly id: number;
  readonly name: string;
  readonly scopes: readonly Scope[];
}

export interface CreatedApiKey extends ApiKeyPrincipal {
  /** The only time the key is ever available in clear. */
  readonly key: string;
  readonly prefix: string;
}

const KEY_FORMAT = /^cc_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

export async function createApiKey(
  db: Db,
  input: { name: string; scopes: readonly Scope[]; createdBy: string; expiresAt?: Date; staffId?: number },
): Promise<CreatedApiKey> {
  const prefix = randomBytes(9).toString('base64url').replace(/[-_]/g, 'x').slice(0, 12);
  const key = `cc_${prefix}_${randomBytes(32).toString('base64url')}`;
  const row = await db
    .insertInto('api_keys')
    .values({
      name: input.name,
      key_prefix: prefix,
      secret_hash: sha256Hex(key),
      scopes: [...input.scopes],
      created_by: input.createdBy,
      expires_at: input.expiresAt ?? null,
      staff_id: input.staffId ?? null,
    })
    .returning(['id', 'name'])
    .executeTakeFirstOrThrow();
  return { id: row.id, name: row.name, scopes: input.scopes, key, prefix };
}

export async function revokeApiKey(db: Db, prefix: string): Promise<boolean> {
  const result = await db
    .updateTable('api_keys')
    .set({ revoked_at: new Date() })
    .where('key_prefix', '=', prefix)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function listApiKeys(db: Db) {
  return db
    .selectFrom('api_keys')
    .select([
      'id',
      'name',
      'key_prefix',
      'scopes',
      'created_by',
      'created_at',
      'expires_at',
      'revoked_at',
      'last_used_at',
    ])
    .orderBy('id')
    .execute();
}

/**
 * Verifies a presented key: one primary-key-sized lookup per request, and no cache of accepted keys,
 * so a revocation (or the offboarding of the key's owner, which revokes it) takes effect on the very
 * next request. A cache here once kept revoked keys working for up to 10 s (issue 13).
 */
export function createApiKeyVerifier(db: Db) {
  return async function verify(presented: string): Promise<ApiKeyPrincipal | undefined> {
    const match = KEY_FORMAT.exec(presented);
    if (!match?.[1]) return undefined;
    const hash = sha256Hex(presented);
    const now = Date.now();
    const row = await db
      .selectFrom('api_keys')
      .select(['id', 'name', 'scopes', 'secret_hash', 'revoked_at', 'expires_at', 'last_used_at'])
      .where('key_prefix', '=', match[1])
      .executeTakeFirst();
    if (
      !row ||
      row.revoked_at !== null ||
      (row.expires_at !== null && row.expires_at.getTime() <= now) ||
      !timingSafeEqual(Buffer.from(row.secret_hash, 'hex'), Buffer.from(hash, 'hex'))
    ) {
      return undefined;
    }
    if (row.last_used_at === null || now - row.last_used_at.getTime() > 60_000) {
      await db
        .updateTable('api_keys')
        .set({ last_used_at: new Date(now) })
        .where('id', '=', row.id)
        .execute();
    }
    return { id: row.id, name: row.name, scopes: row.scopes.filter(isScope) };
  };
}

export type ApiKeyVerifier = ReturnType<typeof createApiKeyVerifier>;
