import { sha256Hex } from '../crypto/pseudonym.js';
import type { Db } from '../db/database.js';
import type { JsonValue } from '../db/schema.js';
import { ConflictError } from '../errors/conflict-error.js';

export interface StoredResponse {
  readonly status: number;
  readonly body: JsonValue;
}

export function requestHash(value: JsonValue): string {
  return sha256Hex(JSON.stringify(value));
}

/**
 * Runs `work` once per (scope, key): the key row is inserted in the same transaction as the work, so
 * a retry racing the first attempt waits for it on the unique key and then replays its stored
 * response; a key reused for a different request is a conflict. Either way, one set of effects.
 */
export async function withIdempotency(
  db: Db,
  scope: string,
  key: string,
  hash: string,
  work: (trx: Db) => Promise<StoredResponse>,
): Promise<StoredResponse & { replayed: boolean }> {
  return db.transaction().execute(async (trx) => {
    const claimed = await trx
      .insertInto('idempotency_keys')
      .values({ scope, key, request_hash: hash })
      .onConflict((oc) => oc.columns(['scope', 'key']).doNothing())
      .returning('key')
      .executeTakeFirst();
    if (!claimed) {
      const prior = await trx
        .selectFrom('idempotency_keys')
        .select(['request_hash', 'status_code', 'response'])
        .where('scope', '=', scope)
        .where('key', '=', key)
        .executeTakeFirstOrThrow();
      if (prior.request_hash !== hash) {
        throw new ConflictError(
          'this Idempotency-Key was used for a different request',
          'idempotency_key_reused',
        );
      }
      return { status: prior.status_code ?? 200, body: prior.response, replayed: true };
    }
    const response = await work(trx);
    await trx
      .updateTable('idempotency_keys')
      .set({ status_code: response.status, response: JSON.stringify(response.body) })
      .where('scope', '=', scope)
      .where('key', '=', key)
      .execute();
    return { ...response, replayed: false };
  });
}
