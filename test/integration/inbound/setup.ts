import twilio from 'twilio';
import { SYSTEM } from '../../../src/auth/actor.js';
import { recordConsentChanges } from '../../../src/consent/ledger.js';
import type { Channel, Purpose } from '../../../src/domain/vocabulary.js';
import { type LinkKind, signLink } from '../../../src/links/tokens.js';
import { defineCampaign, runNow } from '../../support/campaigns.js';
import { NOTICE_VERSION } from '../../support/fixtures.js';
import { seedAudience, seedOffer } from '../../support/seed.js';
import type { TestApp } from '../../support/test-app.js';

/** A retired signing key: listed in SIGNING_SECRETS_PREVIOUS, so it still verifies. */
export const OLD_KEY = { id: 'k0', secret: 'retired-signing-secret-0123456789abcdef' } as const;
export const APP_OVERRIDES = { SIGNING_SECRETS_PREVIOUS: `${OLD_KEY.id}=${OLD_KEY.secret}` };

/** 24 people (seed.ts), one campaign run on e-mail and SMS; returns the run id. */
export async function seedRun(api: TestApp): Promise<number> {
  await seedAudience(api.deps.db, 24);
  await seedOffer(api.deps.db, { key: 'general', priority: 1 });
  const campaign = await defineCampaign(api.deps, {
    name: 'inbound',
    purpose: 'service_offers',
    channels: ['email', 'sms'],
    quiet_hours: '00:00-00:00',
    frequency_cap: '4/7d',
  });
  const { runId } = await runNow(api.deps, campaign.id);
  return runId;
}

export async function messageOf(api: TestApp, runId: number, client: string, channel: Channel) {
  return api.deps.db
    .selectFrom('messages as m')
    .innerJoin('recipients as r', 'r.id', 'm.recipient_id')
    .select(['m.id', 'm.recipient_id', 'r.phone', 'r.email'])
    .where('m.run_id', '=', runId)
    .where('r.client_number', '=', client)
    .where('m.channel', '=', channel)
    .executeTakeFirstOrThrow();
}

export function token(api: TestApp, kind: LinkKind, messageId: number, iat = Math.floor(Date.now() / 1000)) {
  return signLink(api.config.signing, { kind, messageId, iat });
}

export function oldKeyToken(kind: LinkKind, messageId: number) {
  return signLink(
    { current: OLD_KEY, previous: [] },
    { kind, messageId, iat: Math.floor(Date.now() / 1000) },
  );
}

export async function consentOf(api: TestApp, recipientId: number, purpose: Purpose, channel: Channel) {
  const row = await api.deps.db
    .selectFrom('consents')
    .select(['status', 'source'])
    .where('recipient_id', '=', recipientId)
    .where('purpose', '=', purpose)
    .where('channel', '=', channel)
    .executeTakeFirst();
  return row?.status;
}

export async function change(
  api: TestApp,
  recipientId: number,
  changes: { purpose: Purpose; channel: Channel; action: 'grant' | 'withdraw' }[],
) {
  await api.deps.db.transaction().execute((trx) =>
    recordConsentChanges(trx, api.config.pseudonymSecret, {
      recipientId,
      changes: changes.map((c) => ({ ...c, occurredAt: new Date(Date.now() - 60_000) })),
      source: 'app',
      actor: SYSTEM,
      noticeVersion: NOTICE_VERSION,
      evidence: {},
    }),
  );
}

export async function countRows(
  api: TestApp,
  table: 'consent_events' | 'message_events' | 'audit_log' | 'suppressions',
) {
  const row = await api.deps.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function eventsOf(api: TestApp, messageId: number) {
  const rows = await api.deps.db
    .selectFrom('message_events')
    .select('type')
    .where('message_id', '=', messageId)
    .orderBy('id')
    .execute();
  return rows.map((r) => r.type);
}

/** Every personal value that must never reach a log line. */
export async function personalValues(api: TestApp): Promise<string[]> {
  const people = await api.deps.db
    .selectFrom('recipients')
    .select(['email', 'phone', 'first_name', 'last_name'])
    .execute();
  return people
    .flatMap((p) => [p.email, p.phone, p.first_name, p.last_name])
    .filter((v): v is string => typeof v === 'string' && v.length > 3);
}

/** A form post signed the way Twilio signs it (the SDK's own helper), over the public URL. */
export function signedTwilioPost(
  api: TestApp,
  path: string,
  params: Record<string, string>,
  signature?: string,
) {
  const url = `${api.config.http.publicBaseUrl}${path}`;
  const sig = signature ?? twilio.getExpectedTwilioSignature(api.config.sms?.authToken ?? '', url, params);
  return api.app.inject({
    method: 'POST',
    url: path,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(sig === '' ? {} : { 'x-twilio-signature': sig }),
    },
    payload: new URLSearchParams(params).toString(),
  });
}
