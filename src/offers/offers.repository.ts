import type { Insertable, Selectable } from 'kysely';
import type { Db } from '../db/database.js';
import type { OfferContentsTable, OffersTable } from '../db/schema.js';
import type { Channel, Locale, Purpose } from '../domain/vocabulary.js';
import type { FieldProblem } from '../errors/validation-error.js';
import { parseRule, type Rule } from '../segmentation/rules.js';
import {
  MATCHES_NOBODY,
  type Offer,
  type OfferContents,
  type OfferDefinition,
  type OfferStatus,
} from './offer.js';

/** Offers and their contents in PostgreSQL. Rows become domain values here and nowhere else. */

type OfferRow = Selectable<OffersTable>;
type ContentRow = Selectable<OfferContentsTable>;

function definitionColumns(def: OfferDefinition) {
  return {
    key: def.key,
    name: def.name,
    purpose: def.purpose,
    owner_kind: def.owner.kind,
    partner_name: def.owner.kind === 'partner' ? def.owner.partnerName : null,
    valid_from: def.validFrom,
    valid_until: def.validUntil,
    priority: def.priority,
    eligibility: def.eligibility === null ? null : JSON.stringify(def.eligibility),
    personalised: def.personalised,
    send_cap_total: def.sendCapTotal,
    resend_after_days: def.resendAfterDays,
    fallback_locale: def.fallbackLocale,
  };
}

/** body holds the e-mail text part, the SMS text or the push body (migration 0003). */
function contentRows(offerId: number, contents: OfferContents): Insertable<OfferContentsTable>[] {
  const rows: Insertable<OfferContentsTable>[] = [];
  const each = <T>(byLocale: Partial<Record<Locale, T>> | undefined, f: (locale: Locale, c: T) => void) => {
    for (const [locale, c] of Object.entries(byLocale ?? {}) as [Locale, T][]) f(locale, c);
  };
  each(contents.email, (locale, c) =>
    rows.push({
      offer_id: offerId,
      channel: 'email',
      locale,
      subject: c.subject,
      html: c.html,
      body: c.text,
    }),
  );
  each(contents.sms, (locale, c) => rows.push({ offer_id: offerId, channel: 'sms', locale, body: c.text }));
  each(contents.push, (locale, c) =>
    rows.push({ offer_id: offerId, channel: 'push', locale, title: c.title, body: c.body }),
  );
  return rows;
}

export function toContents(rows: readonly ContentRow[]): OfferContents {
  const email: Partial<Record<Locale, { subject: string; html: string; text: string }>> = {};
  const sms: Partial<Record<Locale, { text: string }>> = {};
  const push: Partial<Record<Locale, { title: string; body: string }>> = {};
  for (const r of rows) {
    // The CHECKs of offer_contents guarantee the columns each channel needs.
    if (r.channel === 'email')
      email[r.locale] = { subject: r.subject ?? '', html: r.html ?? '', text: r.body };
    else if (r.channel === 'sms') sms[r.locale] = { text: r.body };
    else push[r.locale] = { title: r.title ?? '', body: r.body };
  }
  const nonEmpty = (o: object) => Object.keys(o).length > 0;
  return {
    ...(nonEmpty(email) ? { email } : {}),
    ...(nonEmpty(sms) ? { sms } : {}),
    ...(nonEmpty(push) ? { push } : {}),
  };
}

function toDefinition(row: OfferRow, contents: OfferContents): Offer {
  let eligibility: Rule | null = null;
  const storedProblems: FieldProblem[] = [];
  if (row.eligibility !== null) {
    // Stored rules are input too. One the rule language no longer accepts must not widen the
    // audience, nor lock the marketer out of the offer: it matches nobody until replaced.
    const rule = parseRule(row.eligibility, 'eligibility');
    if (rule.ok) eligibility = rule.rule;
    else {
      eligibility = MATCHES_NOBODY;
      storedProblems.push(
        {
          field: 'eligibility',
          message: 'the stored rule is no longer valid; the offer matches nobody until it is updated',
        },
        ...rule.problems,
      );
    }
  }
  return {
    id: row.id,
    key: row.key,
    name: row.name,
    purpose: row.purpose,
    owner:
      row.owner_kind === 'partner' && row.partner_name !== null
        ? { kind: 'partner', partnerName: row.partner_name }
        : { kind: 'own' },
    validFrom: row.valid_from,
    validUntil: row.valid_until,
    priority: row.priority,
    eligibility,
    personalised: row.personalised,
    sendCapTotal: row.send_cap_total,
    resendAfterDays: row.resend_after_days,
    fallbackLocale: row.fallback_locale,
    contents,
    status: row.status,
    createdBy: row.created_by,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    storedProblems,
  };
}

/** Inserts a draft; undefined when the key is taken. */
export async function insertOffer(
  db: Db,
  def: OfferDefinition,
  createdBy: string,
): Promise<number | undefined> {
  const row = await db
    .insertInto('offers')
    .values({ ...definitionColumns(def), created_by: createdBy })
    .onConflict((oc) => oc.column('key').doNothing())
    .returning('id')
    .executeTakeFirst();
  return row?.id;
}

export async function updateOfferDefinition(db: Db, id: number, def: OfferDefinition): Promise<void> {
  await db
    .updateTable('offers')
    .set({ ...definitionColumns(def), updated_at: new Date() })
    .where('id', '=', id)
    .execute();
}

/** Deletes and re-inserts every content: call it inside the transaction that updates the offer. */
export async function replaceOfferContents(trx: Db, id: number, contents: OfferContents): Promise<void> {
  await trx.deleteFrom('offer_contents').where('offer_id', '=', id).execute();
  const rows = contentRows(id, contents);
  if (rows.length > 0) await trx.insertInto('offer_contents').values(rows).execute();
}

export async function setOfferStatus(db: Db, id: number, status: OfferStatus): Promise<void> {
  await db.updateTable('offers').set({ status, updated_at: new Date() }).where('id', '=', id).execute();
}

async function withContents(db: Db, row: OfferRow | undefined): Promise<Offer | undefined> {
  if (row === undefined) return undefined;
  const contents = await db
    .selectFrom('offer_contents')
    .selectAll()
    .where('offer_id', '=', row.id)
    .orderBy('channel')
    .orderBy('locale')
    .execute();
  return toDefinition(row, toContents(contents));
}

export async function findOfferByKey(db: Db, key: string): Promise<Offer | undefined> {
  return withContents(
    db,
    await db.selectFrom('offers').selectAll().where('key', '=', key).executeTakeFirst(),
  );
}

export async function findOfferById(db: Db, id: number): Promise<Offer | undefined> {
  return withContents(db, await db.selectFrom('offers').selectAll().where('id', '=', id).executeTakeFirst());
}

/** The offer, its row locked for the rest of the transaction: two changes to one offer never interleave. */
export async function lockOfferByKey(trx: Db, key: string): Promise<Offer | undefined> {
  const row = await trx
    .selectFrom('offers')
    .selectAll()
    .where('key', '=', key)
    .forUpdate()
    .executeTakeFirst();
  return withContents(trx, row);
}

/** An offer without its templates, with the channels and locales it has content for. */
export interface OfferSummary extends Omit<Offer, 'contents'> {
  readonly locales: Partial<Record<Channel, Locale[]>>;
}

export interface OfferQuery {
  readonly purpose?: Purpose;
  readonly status?: OfferStatus;
  /** keyset: offers with id greater than this */
  readonly after?: number;
  readonly limit: number;
}

/** Keyset-paged by id. */
export async function listOfferSummaries(db: Db, q: OfferQuery): Promise<OfferSummary[]> {
  let query = db.selectFrom('offers').selectAll().orderBy('id').limit(q.limit);
  if (q.purpose !== undefined) query = query.where('purpose', '=', q.purpose);
  if (q.status !== undefined) query = query.where('status', '=', q.status);
  if (q.after !== undefined) query = query.where('id', '>', q.after);
  const rows = await query.execute();
  if (rows.length === 0) return [];
  const held = await db
    .selectFrom('offer_contents')
    .select(['offer_id', 'channel', 'locale'])
    .where(
      'offer_id',
      'in',
      rows.map((r) => r.id),
    )
    .orderBy('offer_id')
    .orderBy('channel')
    .orderBy('locale')
    .execute();
  return rows.map((row) => {
    const locales: Partial<Record<Channel, Locale[]>> = {};
    for (const h of held) {
      if (h.offer_id === row.id) locales[h.channel] = [...(locales[h.channel] ?? []), h.locale];
    }
    const { contents: _none, ...offer } = toDefinition(row, {});
    return { ...offer, locales };
  });
}
