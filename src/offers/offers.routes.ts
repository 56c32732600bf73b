import { type TSchema, Type } from '@sinclair/typebox';
import type { Principal } from '../auth/principal.js';
import type { Scope } from '../auth/scopes.js';
import { CHANNELS, LOCALES, type Purpose as PurposeT } from '../domain/vocabulary.js';
import { NotFoundError } from '../errors/not-found-error.js';
import { ValidationError } from '../errors/validation-error.js';
import { actorOf } from '../http/auth.js';
import type { HttpContext, TypedApp } from '../http/context.js';
import { ERROR_RESPONSES, Locale, Nullable, Purpose, Timestamp } from '../http/schemas.js';
import { OFFER_STATUSES, type Offer, type OfferStatus } from './offer.js';
import { validateOfferInput } from './offer-input.js';
import {
  activateOffer,
  archiveOffer,
  createOffer,
  getOffer,
  listOffers,
  type OfferDetails,
  updateOffer,
} from './offers.js';
import type { OfferSummary } from './offers.repository.js';
import type { SmsEncoding } from './sms-encoding.js';
import { smsReport } from './sms-report.js';
import { CONTENT_PARTS } from './template-fields.js';

/**
 * The offers API (docs/offers.md, "HTTP API"). Writing needs `offers:write`; reading is open to the
 * people who build campaigns and who read reports as well. Request bodies are checked by the offer
 * rules themselves (src/offers/offer-input.ts), which name every invalid field by its path, templates
 * included, so the body schema below documents the fields without refusing anything first.
 */

const WRITE: Scope = 'offers:write';
const READ: readonly Scope[] = ['offers:write', 'campaigns:write', 'reports:read'];

const OfferKeyParams = Type.Object(
  { key: Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{1,62}$', description: "the offer's key" }) },
  { additionalProperties: false },
);

const described = (description: string) => Type.Optional(Type.Unknown({ description }));

/** An offer as sent: documented here, checked completely by validateOfferInput. */
const OfferInput = Type.Object(
  {
    key: described('string: a-z 0-9 _ -, 2-63 characters; names the offer and never changes'),
    name: described('string: 1-200 characters, for marketers'),
    purpose: described('service_offers, partner_offers, contests or feedback (N3)'),
    owner: described('own (default) or partner; a partner offer has purpose partner_offers'),
    partner_name: described("string: the partner's name, for owner partner"),
    valid_from: described('ISO 8601 date-time with offset, or null'),
    valid_until: described('ISO 8601 date-time with offset after valid_from, or null'),
    priority: described('integer -1000..1000, default 0; higher wins'),
    eligibility: described(
      'an audience rule (docs/audience-rules.md), or null: everyone the campaign selects',
    ),
    personalised: described('boolean; must be true when eligibility reads profiling data (N9)'),
    send_cap_total: described('integer 1..100000000, or null: no cap'),
    resend_after_days: described('integer 0..3650, default 30'),
    fallback_locale: described('lv (default), en or ru'),
    contents: described(
      'channel → locale → parts: email {subject, html, text}, sms {text}, push {title, body}; templates as in docs/offers.md',
    ),
  },
  {
    additionalProperties: true,
    description:
      'Checked as a whole: a 400 lists every invalid field by its path, e.g. contents/email/lv/html',
  },
);

const Problem = Type.Object({ field: Type.String(), message: Type.String() });
const SmsEncodingView = Type.Object({
  encoding: Type.String(),
  units: Type.Integer(),
  segments: Type.Integer(),
  nonGsmCharacters: Type.Array(Type.String()),
});
const SmsEstimateView = Type.Object({ asWritten: SmsEncodingView, worstCase: SmsEncodingView });
const byLocale = (schema: TSchema) =>
  Type.Object(Object.fromEntries(LOCALES.map((l) => [l, Type.Optional(schema)])), {
    additionalProperties: false,
  });
const partsOf = (parts: readonly string[]) =>
  Type.Object(Object.fromEntries(parts.map((p) => [p, Type.String()])), { additionalProperties: false });
const ContentsView = Type.Object(
  Object.fromEntries(CHANNELS.map((c) => [c, Type.Optional(byLocale(partsOf(CONTENT_PARTS[c])))])),
  { additionalProperties: false },
);
const Status = Type.Union(OFFER_STATUSES.map((s) => Type.Literal(s)));

const common = {
  id: Type.Integer(),
  key: Type.String(),
  name: Type.String(),
  purpose: Purpose,
  status: Status,
  owner: Type.Union([Type.Literal('own'), Type.Literal('partner')]),
  partner_name: Nullable(Type.String()),
  valid_from: Nullable(Timestamp),
  valid_until: Nullable(Timestamp),
  priority: Type.Integer(),
  eligibility: Nullable(Type.Unknown({ description: 'the audience rule' })),
  personalised: Type.Boolean(),
  send_cap_total: Nullable(Type.Integer()),
  resend_after_days: Type.Integer(),
  fallback_locale: Locale,
  created_by: Type.String(),
  created_at: Timestamp,
  updated_at: Timestamp,
};

const OfferView = Type.Object({
  ...common,
  contents: ContentsView,
  sms: Type.Record(Type.String(), SmsEstimateView, {
    description: 'per SMS locale: encoding and segments as written and in the worst case',
  }),
  warnings: Type.Array(Problem, { description: 'accepted, but worth a look (e.g. an SMS over 3 segments)' }),
});

const SummaryView = Type.Object({
  ...common,
  locales: Type.Record(Type.String(), Type.Array(Locale), { description: 'channel → locales with content' }),
  warnings: Type.Array(Problem),
});

function commonView(offer: Omit<Offer, 'contents'>) {
  return {
    id: offer.id,
    key: offer.key,
    name: offer.name,
    purpose: offer.purpose,
    status: offer.status,
    owner: offer.owner.kind,
    partner_name: offer.owner.kind === 'partner' ? offer.owner.partnerName : null,
    valid_from: offer.validFrom,
    valid_until: offer.validUntil,
    priority: offer.priority,
    eligibility: offer.eligibility,
    personalised: offer.personalised,
    send_cap_total: offer.sendCapTotal,
    resend_after_days: offer.resendAfterDays,
    fallback_locale: offer.fallbackLocale,
    created_by: offer.createdBy,
    created_at: offer.createdAt,
    updated_at: offer.updatedAt,
  };
}

const encodingView = (e: SmsEncoding) => ({ ...e, nonGsmCharacters: [...e.nonGsmCharacters] });

function smsView(sms: OfferDetails['sms']) {
  return Object.fromEntries(
    Object.entries(sms).map(([locale, e]) => [
      locale,
      { asWritten: encodingView(e.asWritten), worstCase: encodingView(e.worstCase) },
    ]),
  );
}

function offerView(d: OfferDetails) {
  return {
    ...commonView(d.offer),
    contents: d.offer.contents,
    sms: smsView(d.sms),
    warnings: [...d.warnings],
  };
}

function summaryView(s: OfferSummary) {
  return { ...commonView(s), locales: s.locales, warnings: [...s.storedProblems] };
}

/** The offer as an input (snake_case), the base a merge patch applies to. */
function inputOf(offer: Offer): Record<string, unknown> {
  return {
    key: offer.key,
    name: offer.name,
    purpose: offer.purpose,
    owner: offer.owner.kind,
    ...(offer.owner.kind === 'partner' ? { partner_name: offer.owner.partnerName } : {}),
    valid_from: offer.validFrom?.toISOString() ?? null,
    valid_until: offer.validUntil?.toISOString() ?? null,
    priority: offer.priority,
    eligibility: offer.eligibility,
    personalised: offer.personalised,
    send_cap_total: offer.sendCapTotal,
    resend_after_days: offer.resendAfterDays,
    fallback_locale: offer.fallbackLocale,
    contents: offer.contents,
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** RFC 7396 JSON merge patch: objects merge key by key, null removes, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const result: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete result[k];
    else result[k] = mergePatch(result[k], v);
  }
  return result;
}

const QUERY = Type.Object(
  {
    purpose: Type.Optional(Purpose),
    status: Type.Optional(Status),
    after: Type.Optional(
      Type.String({ pattern: '^[0-9]{1,18}$', description: 'keyset: offers after this id' }),
    ),
    limit: Type.Optional(
      Type.String({ pattern: '^(?:[1-9][0-9]{0,1}|[1-4][0-9]{2}|500)$', description: '1-500, default 100' }),
    ),
  },
  { additionalProperties: false },
);

export function registerOfferRoutes(app: TypedApp, ctx: HttpContext): void {
  const { db } = ctx.deps;
  const who = (request: { id: string; principal?: Principal }) => ({
    actor: actorOf(request),
    requestId: request.id,
  });
  const one = { 200: OfferView, ...ERROR_RESPONSES };

  app.post(
    '/offers',
    {
      config: { scope: WRITE },
      schema: {
        summary: 'Create an offer as a draft (N3, N7, N9: purpose, allowed template fields, profiling)',
        tags: ['offers'],
        body: OfferInput,
        response: { 201: OfferView, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) =>
      reply.code(201).send(offerView(await createOffer(db, request.body, who(request)))),
  );

  app.post(
    '/offers/check',
    {
      config: { scope: WRITE },
      schema: {
        summary: 'Check an offer without saving it: every invalid field, and the SMS encoding and segments',
        tags: ['offers'],
        body: OfferInput,
        response: {
          200: Type.Object({
            sms: Type.Record(Type.String(), SmsEstimateView),
            warnings: Type.Array(Problem),
          }),
          ...ERROR_RESPONSES,
        },
      },
    },
    async (request) => {
      const check = validateOfferInput(request.body);
      if (!check.ok) throw new ValidationError(check.problems);
      const { sms, warnings } = smsReport(check.value.contents);
      return { sms: smsView(sms), warnings: [...warnings] };
    },
  );

  app.get(
    '/offers',
    {
      config: { scope: READ },
      schema: {
        summary: 'Offers without their templates, by purpose and status, paged by id',
        tags: ['offers'],
        querystring: QUERY,
        response: {
          200: Type.Object({
            offers: Type.Array(SummaryView),
            next_after: Nullable(Type.Integer({ description: 'pass as `after` for the next page' })),
          }),
          ...ERROR_RESPONSES,
        },
      },
    },
    async (request) => {
      const q = request.query;
      const limit = Number(q.limit ?? '100');
      const offers = await listOffers(db, {
        ...(q.purpose !== undefined ? { purpose: q.purpose as PurposeT } : {}),
        ...(q.status !== undefined ? { status: q.status as OfferStatus } : {}),
        ...(q.after !== undefined ? { after: Number(q.after) } : {}),
        limit,
      });
      const last = offers.at(-1);
      return {
        offers: offers.map(summaryView),
        next_after: offers.length === limit && last !== undefined ? last.id : null,
      };
    },
  );

  app.get(
    '/offers/:key',
    {
      config: { scope: READ },
      schema: {
        summary: 'One offer with its templates, SMS encoding report and warnings',
        tags: ['offers'],
        params: OfferKeyParams,
        response: one,
      },
    },
    async (request) => {
      const found = await getOffer(db, request.params.key);
      if (!found) throw new NotFoundError('offer');
      return offerView(found);
    },
  );

  app.put(
    '/offers/:key',
    {
      config: { scope: WRITE },
      schema: {
        summary: 'Replace the whole offer, definition and contents at once (the key cannot change)',
        tags: ['offers'],
        params: OfferKeyParams,
        body: OfferInput,
        response: one,
      },
    },
    async (request) => offerView(await updateOffer(db, request.params.key, request.body, who(request))),
  );

  app.patch(
    '/offers/:key',
    {
      config: { scope: WRITE },
      schema: {
        summary: 'Change some fields (JSON merge patch, RFC 7396: null removes, objects merge)',
        description:
          'Applied to the offer as read; if someone else changed it meanwhile the answer is 409 offer_changed and nothing is written.',
        tags: ['offers'],
        params: OfferKeyParams,
        body: OfferInput,
        response: one,
      },
    },
    async (request) => {
      const current = await getOffer(db, request.params.key);
      if (!current) throw new NotFoundError('offer');
      const patch = request.body as Record<string, unknown>;
      const stale = current.offer.storedProblems.filter((p) => p.field.startsWith('eligibility'));
      if (stale.length > 0 && patch.eligibility === undefined) {
        // the stored rule reads as "matches nobody"; a patch must not write that back silently
        throw new ValidationError([
          { field: 'eligibility', message: 'the stored rule is no longer valid; send a new one (or null)' },
        ]);
      }
      const merged = mergePatch(inputOf(current.offer), patch);
      return offerView(
        await updateOffer(db, request.params.key, merged, who(request), {
          updatedAt: current.offer.updatedAt,
        }),
      );
    },
  );

  for (const [action, run, summary] of [
    [
      'activate',
      activateOffer,
      'Make a draft available to campaigns (needs content and a validity not ended)',
    ],
    ['archive', archiveOffer, 'Retire an offer for good; messages and reports keep naming it'],
  ] as const) {
    app.post(
      `/offers/:key/${action}`,
      {
        config: { scope: WRITE },
        schema: { summary, tags: ['offers'], params: OfferKeyParams, response: one },
      },
      async (request) => offerView(await run(db, request.params.key, who(request))),
    );
  }
}
