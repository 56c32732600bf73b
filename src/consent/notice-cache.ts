import type { Db } from '../db/database.js';

/** More versions than any deployment publishes; a bound all the same. */
const MAX_VERSIONS = 1_000;

/**
 * The SHA-256 of each notice version's text, read once per process. Notices are append-only (a
 * trigger refuses UPDATE and DELETE for every role, migrations/0001), so a version's hash never
 * changes once it exists; an unknown version is not remembered (it may be published a second later).
 * One cache per database: create it where the database handle is made (the HTTP routes do).
 */
export class NoticeCache {
  private readonly known = new Map<string, string>();

  async sha256(db: Db, version: string): Promise<string | undefined> {
    const cached = this.known.get(version);
    if (cached !== undefined) return cached;
    const row = await db
      .selectFrom('notices')
      .select('text_sha256')
      .where('version', '=', version)
      .executeTakeFirst();
    if (row !== undefined && this.known.size < MAX_VERSIONS) this.known.set(version, row.text_sha256);
    return row?.text_sha256;
  }
}
