import { sql } from 'kysely';
import type { Db } from '../../src/db/database.js';
import type { Purpose } from '../../src/domain/vocabulary.js';
import { NOTICE_VERSION, seedNotice } from './fixtures.js';

/**
 * A synthetic audience of `n` people, made set-based in PostgreSQL (50,000 in well under a second).
 * Person g (1-based) has: e-mail unless g % 17 = 0, phone unless g % 13 = 0, a live device when g % 3 = 0;
 * consent for `purpose` on e-mail unless g % 10 = 0, on SMS when g % 4 = 0, on push when g % 5 = 0;
 * restricted when g % 101 = 0; objected to profiling when g % 29 = 0; interests by g % 3;
 * locale by g % 3; time zone Europe/Riga. Hashes are plain SHA-256 of the address (a test stand-in
 * for the keyed hash; suppress with `suppressionHash`).
 */
export async function seedAudience(
  db: Db,
  n: number,
  purpose: Purpose = 'service_offers',
  prefix = 'P',
): Promise<void> {
  await seedNotice(db);
  await sql`
    INSERT INTO recipients (client_number, first_name, last_name, email, email_hash, phone, phone_hash, locale, time_zone,
                            attributes, restricted_at, profiling_objected_at)
    SELECT ${prefix} || g, 'Name' || g, 'Surname' || g,
           CASE WHEN g % 17 <> 0 THEN 'p' || g || '@example.lv' END,
           CASE WHEN g % 17 <> 0 THEN encode(sha256(convert_to('p' || g || '@example.lv', 'UTF8')), 'hex') END,
           CASE WHEN g % 13 <> 0 THEN '+3712' || lpad(g::text, 7, '0') END,
           CASE WHEN g % 13 <> 0 THEN encode(sha256(convert_to('+3712' || lpad(g::text, 7, '0'), 'UTF8')), 'hex') END,
           (ARRAY['lv', 'en', 'ru'])[g % 3 + 1], 'Europe/Riga',
           jsonb_build_object('interests', jsonb_build_array((ARRAY['travel', 'cars', 'food'])[g % 3 + 1]), 'score', g % 7),
           CASE WHEN g % 101 = 0 THEN now() END,
           CASE WHEN g % 29 = 0 THEN now() END
    FROM generate_series(1, ${n}::int) AS g
  `.execute(db);
  await sql`
    INSERT INTO devices (recipient_id, token, platform)
    SELECT r.id, 'tok-' || r.client_number || '-' || repeat('x', 20), 'android'
    FROM recipients r WHERE r.client_number LIKE ${`${prefix}%`} AND substr(r.client_number, ${prefix.length + 1})::int % 3 = 0
  `.execute(db);
  for (const [channel, modulo, keep] of [
    ['email', 10, false],
    ['sms', 4, true],
    ['push', 5, true],
  ] as const) {
    await sql`
      INSERT INTO consents (recipient_id, purpose, channel, status, source, occurred_at, notice_version)
      SELECT r.id, ${purpose}::text, ${channel}::text, 'granted', 'import', now() - interval '1 day', ${NOTICE_VERSION}
      FROM recipients r
      WHERE r.client_number LIKE ${`${prefix}%`}
        AND (substr(r.client_number, ${prefix.length + 1})::int % ${modulo}::int = 0) = ${keep}::boolean
    `.execute(db);
  }
}

/**
 * `n` people reachable on every channel: an e-mail address, a phone number, one live device and a
 * granted consent for `purpose` on e-mail, SMS and push; nobody restricted or objecting to profiling.
 * A campaign of `purpose` on all three channels makes `n` messages on each.
 */
export async function seedReachableAudience(
  db: Db,
  n: number,
  purpose: Purpose = 'service_offers',
  prefix = 'R',
): Promise<void> {
  await seedNotice(db);
  await sql`
    INSERT INTO recipients (client_number, first_name, last_name, email, email_hash, phone, phone_hash, locale, time_zone)
    SELECT ${prefix} || g, 'Name' || g, 'Surname' || g,
           'r' || g || '@example.lv', encode(sha256(convert_to('r' || g || '@example.lv', 'UTF8')), 'hex'),
           '+3712' || lpad(g::text, 7, '0'), encode(sha256(convert_to('+3712' || lpad(g::text, 7, '0'), 'UTF8')), 'hex'),
           'lv', 'Europe/Riga'
    FROM generate_series(1, ${n}::int) AS g
  `.execute(db);
  await sql`
    INSERT INTO devices (recipient_id, token, platform)
    SELECT r.id, 'tok-' || r.client_number || '-' || repeat('x', 20), 'android'
    FROM recipients r WHERE r.client_number LIKE ${`${prefix}%`}
  `.execute(db);
  await sql`
    INSERT INTO consents (recipient_id, purpose, channel, status, source, occurred_at, notice_version)
    SELECT r.id, ${purpose}::text, c.channel, 'granted', 'import', now() - interval '1 day', ${NOTICE_VERSION}
    FROM recipients r CROSS JOIN (VALUES ('email'), ('sms'), ('push')) AS c (channel)
    WHERE r.client_number LIKE ${`${prefix}%`}
  `.execute(db);
}

export function suppressionHash(address: string): ReturnType<typeof sql<string>> {
  return sql<string>`encode(sha256(convert_to(${address}::text, 'UTF8')), 'hex')`;
}

/** An active offer of `purpose`, with minimal content; returns its id. */
export async function seedOffer(
  db: Db,
  input: {
    key: string;
    purpose?: Purpose;
    priority?: number;
    personalised?: boolean;
    eligibility?: unknown;
    sendCapTotal?: number;
    resendAfterDays?: number;
    /** Channels with content (Latvian); all three by default. */
    channels?: readonly ('email' | 'sms' | 'push')[];
  },
): Promise<number> {
  const row = await db
    .insertInto('offers')
    .values({
      key: input.key,
      name: input.key,
      purpose: input.purpose ?? 'service_offers',
      status: 'active',
      priority: input.priority ?? 0,
      personalised: input.personalised ?? false,
      eligibility: input.eligibility === undefined ? null : JSON.stringify(input.eligibility),
      send_cap_total: input.sendCapTotal ?? null,
      resend_after_days: input.resendAfterDays ?? 0,
      created_by: 'test',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const content = {
    email: {
      subject: `${input.key}: piedāvājums`,
      html: '<p>Sveiki, {{first_name|draugs}}!</p><p><a href="{{unsubscribe_url}}">Atteikties</a></p>',
      title: null,
      body: 'Sveiki, {{first_name|draugs}}! Atteikties: {{unsubscribe_url}}',
    },
    sms: { subject: null, html: null, title: null, body: `Klix: ${input.key}. {{offer_url}}` },
    push: { subject: null, html: null, title: 'Klix', body: `${input.key} tev` },
  } as const;
  const channels = input.channels ?? (['email', 'sms', 'push'] as const);
  await db
    .insertInto('offer_contents')
    .values(
      channels.map((channel) => ({ offer_id: row.id, channel, locale: 'lv' as const, ...content[channel] })),
    )
    .execute();
  return row.id;
}
