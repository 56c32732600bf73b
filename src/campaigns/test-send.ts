import type { Db } from '../db/database.js';
import type { Rule } from '../segmentation/rules.js';

/** The audience list that holds the configured test-send seeds (CAMPAIGN_TEST_SEED_CLIENT_NUMBERS). */
export const SEED_LIST_NAME = 'consentcast-test-send-seeds';

/**
 * Makes the seed list hold exactly the configured client numbers that exist, and returns how many
 * people it holds. Unknown client numbers are left out (they are counted, never named, in the answer).
 */
export async function syncSeedList(
  db: Db,
  clientNumbers: readonly string[],
  createdBy: string,
): Promise<{ listId: number; members: number }> {
  return db.transaction().execute(async (trx) => {
    await trx
      .insertInto('audience_lists')
      .values({
        name: SEED_LIST_NAME,
        description: 'test-send seeds from CAMPAIGN_TEST_SEED_CLIENT_NUMBERS',
        created_by: createdBy,
      })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    const list = await trx
      .selectFrom('audience_lists')
      .select('id')
      .where('name', '=', SEED_LIST_NAME)
      .forUpdate()
      .executeTakeFirstOrThrow();
    const people =
      clientNumbers.length === 0
        ? []
        : await trx
            .selectFrom('recipients')
            .select('id')
            .where('client_number', 'in', [...clientNumbers])
            .where('erased_at', 'is', null)
            .execute();
    await trx.deleteFrom('audience_list_members').where('list_id', '=', list.id).execute();
    if (people.length > 0) {
      await trx
        .insertInto('audience_list_members')
        .values(people.map((p) => ({ list_id: list.id, recipient_id: p.id })))
        .execute();
    }
    return { listId: list.id, members: people.length };
  });
}

/**
 * A test run's audience: the seed list instead of the campaign's rule. Consent, contact, suppression,
 * quiet hours and caps still apply to the seeds, as to anyone (they are people too).
 */
export async function testSendAudience(db: Db): Promise<Rule> {
  const list = await db
    .selectFrom('audience_lists')
    .select('id')
    .where('name', '=', SEED_LIST_NAME)
    .executeTakeFirst();
  return { inList: list?.id ?? 0 };
}
