import { createHash } from 'node:crypto';
import type { Db } from '../../src/db/database.js';

export const NOTICE_VERSION = '2022-03-01';
export const NOTICE_TEXT =
  'Klīx paziņojums par personas datu apstrādi paziņojumu un piedāvājumu nosūtīšanai (test copy)';

/** Publishes the test notice (idempotent). */
export async function seedNotice(db: Db): Promise<void> {
  await db
    .insertInto('notices')
    .values({
      version: NOTICE_VERSION,
      locale: 'lv',
      effective_from: '2022-03-01T00:00:00Z',
      body: NOTICE_TEXT,
      text_sha256: createHash('sha256').update(NOTICE_TEXT, 'utf8').digest('hex'),
    })
    .onConflict((oc) => oc.column('version').doNothing())
    .execute();
}
