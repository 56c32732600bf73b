import { sha256Hex } from '../crypto/pseudonym.js';
import type { Db } from '../db/database.js';
import type { Locale } from '../domain/vocabulary.js';
import { ConflictError } from '../errors/conflict-error.js';

export interface Notice {
  readonly version: string;
  readonly locale: Locale;
  readonly effectiveFrom: Date;
  readonly sha256: string;
}

/** Publishes a notice version. Its text is hashed and never changes afterwards (evidence, N11). */
export async function createNotice(
  db: Db,
  input: { version: string; locale: Locale; effectiveFrom: Date; body: string },
): Promise<Notice> {
  const sha256 = sha256Hex(input.body);
  const row = await db
    .insertInto('notices')
    .values({
      version: input.version,
      locale: input.locale,
      effective_from: input.effectiveFrom,
      body: input.body,
      text_sha256: sha256,
    })
    .onConflict((oc) => oc.column('version').doNothing())
    .returning('version')
    .executeTakeFirst();
  if (!row) {
    const existing = await findNotice(db, input.version);
    if (existing?.sha256 !== sha256) {
      throw new ConflictError(`notice ${input.version} exists with a different text`, 'notice_exists');
    }
    return existing;
  }
  return { version: input.version, locale: input.locale, effectiveFrom: input.effectiveFrom, sha256 };
}

export async function findNotice(db: Db, version: string): Promise<Notice | undefined> {
  const row = await db
    .selectFrom('notices')
    .select(['version', 'locale', 'effective_from', 'text_sha256'])
    .where('version', '=', version)
    .executeTakeFirst();
  return (
    row && {
      version: row.version,
      locale: row.locale,
      effectiveFrom: row.effective_from,
      sha256: row.text_sha256,
    }
  );
}

export async function listNotices(db: Db): Promise<Notice[]> {
  const rows = await db
    .selectFrom('notices')
    .select(['version', 'locale', 'effective_from', 'text_sha256'])
    .orderBy('effective_from', 'desc')
    .execute();
  return rows.map((r) => ({
    version: r.version,
    locale: r.locale,
    effectiveFrom: r.effective_from,
    sha256: r.text_sha256,
  }));
}

/** The newest notice in force now: what START re-grants and unsubscribe pages refer to. */
export async function currentNotice(db: Db, now = new Date()): Promise<Notice | undefined> {
  const row = await db
    .selectFrom('notices')
    .select(['version', 'locale', 'effective_from', 'text_sha256'])
    .where('effective_from', '<=', now)
    .orderBy('effective_from', 'desc')
    .limit(1)
    .executeTakeFirst();
  return (
    row && {
      version: row.version,
      locale: row.locale,
      effectiveFrom: row.effective_from,
      sha256: row.text_sha256,
    }
  );
}
