import { audit } from '../audit/audit.js';
import type { Actor } from '../auth/actor.js';
import type { Db } from '../db/database.js';
import type { Locale } from '../domain/vocabulary.js';
import { ConflictError } from '../errors/conflict-error.js';
import { NotFoundError } from '../errors/not-found-error.js';
import { type FieldProblem, ValidationError } from '../errors/validation-error.js';
import { changedFields, contentKeys, type Offer, type OfferAction, offerTransition } from './offer.js';
import { validateOfferInput } from './offer-input.js';
import {
  findOfferByKey,
  insertOffer,
  listOfferSummaries,
  lockOfferByKey,
  type OfferQuery,
  type OfferSummary,
  replaceOfferContents,
  setOfferStatus,
  updateOfferDefinition,
} from './offers.repository.js';
import type { SmsEstimate } from './sms-encoding.js';
import { smsReport } from './sms-report.js';

/**
 * Offers (issue 4): a marketer creates a draft, edits it, activates it for campaigns and archives it.
 * Every change is checked completely before anything is written, written in one transaction with its
 * audit entry, and answered with the offer as stored plus what its SMS texts will cost.
 */

export interface Who {
  readonly actor: Actor;
  /** The HTTP request id or CLI run id, for the audit log. */
  readonly requestId?: string;
}

export interface OfferDetails {
  readonly offer: Offer;
  /** Encoding and segments of each SMS text (docs/offers.md). */
  readonly sms: Partial<Record<Locale, SmsEstimate>>;
  /** Accepted, but worth a look: e.g. an SMS over three segments. */
  readonly warnings: readonly FieldProblem[];
}

function details(offer: Offer): OfferDetails {
  const { sms, warnings } = smsReport(offer.contents);
  return { offer, sms, warnings: [...offer.storedProblems, ...warnings] };
}

function auditBase(who: Who, offer: Pick<Offer, 'id'>) {
  return {
    actor: who.actor,
    subjectType: 'offer',
    subjectId: offer.id,
    ...(who.requestId !== undefined ? { requestId: who.requestId } : {}),
  };
}

async function reload(db: Db, key: string): Promise<Offer> {
  const offer = await findOfferByKey(db, key);
  if (!offer) throw new NotFoundError('offer');
  return offer;
}

/** Stores a new offer as a draft. */
export async function createOffer(db: Db, input: unknown, who: Who): Promise<OfferDetails> {
  const check = validateOfferInput(input);
  if (!check.ok) throw new ValidationError(check.problems);
  const def = check.value;
  return db.transaction().execute(async (trx) => {
    const id = await insertOffer(trx, def, who.actor.id);
    if (id === undefined)
      throw new ConflictError(`an offer with key ${def.key} exists already`, 'offer_key_taken');
    await replaceOfferContents(trx, id, def.contents);
    await audit(trx, {
      ...auditBase(who, { id }),
      action: 'offer.create',
      details: {
        key: def.key,
        purpose: def.purpose,
        owner: def.owner.kind,
        personalised: def.personalised,
        contents: contentKeys(def.contents),
      },
    });
    return details(await reload(trx, def.key));
  });
}

/**
 * Replaces an offer's definition and all its contents at once: a channel worker reading the offer
 * meanwhile sees the old contents or the new, never a mix. The key names the offer and does not change.
 */
export async function updateOffer(
  db: Db,
  key: string,
  input: unknown,
  who: Who,
  /** Optimistic check: refuse (409 `offer_changed`) when the offer was updated after this read. */
  expected?: { readonly updatedAt: Date },
): Promise<OfferDetails> {
  const check = validateOfferInput(input);
  if (!check.ok) throw new ValidationError(check.problems);
  const def = check.value;
  if (def.key !== key) {
    throw new ValidationError([{ field: 'key', message: `cannot be changed (the offer is ${key})` }]);
  }
  return db.transaction().execute(async (trx) => {
    const before = await lockOfferByKey(trx, key);
    if (!before) throw new NotFoundError('offer');
    if (expected !== undefined && before.updatedAt.getTime() !== expected.updatedAt.getTime()) {
      throw new ConflictError(
        'the offer changed since it was read; read it again and retry',
        'offer_changed',
      );
    }
    if (before.status === 'archived') {
      throw new ConflictError('an archived offer cannot be changed', 'offer_archived');
    }
    if (before.status === 'active' && contentKeys(def.contents).length === 0) {
      throw new ValidationError([
        { field: 'contents', message: 'an active offer needs content on at least one channel' },
      ]);
    }
    if (
      def.purpose !== before.purpose &&
      (before.status !== 'draft' || (await namedByCampaign(trx, before.id)))
    ) {
      // A campaign sends its offers under its own purpose's consent (N3): the two must stay equal.
      throw new ConflictError(
        'the purpose of an offer can change only while it is a draft that no campaign names',
        'offer_in_use',
      );
    }
    const changed = changedFields(before, def);
    if (changed.length === 0) return details(before);
    await updateOfferDefinition(trx, before.id, def);
    await replaceOfferContents(trx, before.id, def.contents);
    await audit(trx, {
      ...auditBase(who, before),
      action: 'offer.update',
      details: { key, changed },
    });
    return details(await reload(trx, key));
  });
}

async function namedByCampaign(db: Db, offerId: number): Promise<boolean> {
  const row = await db
    .selectFrom('campaign_offers')
    .select('campaign_id')
    .where('offer_id', '=', offerId)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

export async function getOffer(db: Db, key: string): Promise<OfferDetails | undefined> {
  const offer = await findOfferByKey(db, key);
  return offer && details(offer);
}

/** Offers without their templates, by purpose and status, keyset-paged by id. */
export async function listOffers(db: Db, query: OfferQuery): Promise<OfferSummary[]> {
  return listOfferSummaries(db, { ...query, limit: Math.min(Math.max(query.limit, 1), 500) });
}

async function transition(
  db: Db,
  key: string,
  action: OfferAction,
  who: Who,
  now: Date,
): Promise<OfferDetails> {
  return db.transaction().execute(async (trx) => {
    const offer = await lockOfferByKey(trx, key);
    if (!offer) throw new NotFoundError('offer');
    const next = offerTransition(offer, action, now);
    if (!next.ok) throw new ConflictError(next.message, next.code);
    if (!next.changed) return details(offer);
    await setOfferStatus(trx, offer.id, next.status);
    await audit(trx, {
      ...auditBase(who, offer),
      action: `offer.${action}`,
      details: { key, from: offer.status, to: next.status },
    });
    return details(await reload(trx, key));
  });
}

/** Makes a draft available to campaigns; it needs content and a validity that has not ended. */
export function activateOffer(db: Db, key: string, who: Who, now: Date = new Date()): Promise<OfferDetails> {
  return transition(db, key, 'activate', who, now);
}

/** Retires an offer for good; messages and reports keep referring to it. */
export function archiveOffer(db: Db, key: string, who: Who, now: Date = new Date()): Promise<OfferDetails> {
  return transition(db, key, 'archive', who, now);
}
