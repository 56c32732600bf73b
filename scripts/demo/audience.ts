import { CHANNELS, type Channel, PURPOSES, type Purpose } from '../../src/domain/vocabulary.js';

/**
 * The demo's synthetic audience: person i (1-based) is always the same. Every contact is plainly
 * fake: e-mail at example.com (RFC 2606), numbers +371 2xxx xxxx counted up from +371 2000 0001,
 * tokens `demo-fcm-…`. Locales lv 50 %, ru 30 %, en 20 %; several time zones; consents differ per
 * purpose and channel; a few people carry an old withdrawal.
 */

export const DEMO_NOTICE_VERSION = '2022-03-01';

const LV_FIRST = ['Jānis', 'Anna', 'Kristaps', 'Līga', 'Mārtiņš', 'Ilze', 'Andris', 'Zane'];
const LV_LAST = ['Bērziņš', 'Kalniņa', 'Ozols', 'Liepa', 'Krūmiņš', 'Jansone', 'Zariņš'];
const RU_FIRST = ['Алексей', 'Ольга', 'Дмитрий', 'Наталья', 'Сергей', 'Елена'];
const RU_LAST = ['Иванов', 'Смирнова', 'Кузнецов', 'Попова', 'Соколов'];
const EN_FIRST = ['Oliver', 'Emma', 'James', 'Sophie', 'Harry', 'Grace'];
const EN_LAST = ['Smith', 'Taylor', 'Brown', 'Wilson', 'Evans'];
const ZONES = [
  ...Array<string>(14).fill('Europe/Riga'),
  'Europe/Tallinn',
  'Europe/Vilnius',
  'Europe/London',
  'Europe/Berlin',
  'America/New_York',
  'Asia/Tokyo',
];
const INTERESTS = ['travel', 'cars', 'food', 'savings', 'electronics'];

/** Percent of people who granted each purpose on each channel. */
const GRANT_PERCENT: Readonly<Record<Purpose, Readonly<Record<Channel, number>>>> = {
  service_offers: { email: 75, sms: 40, push: 55 },
  partner_offers: { email: 30, sms: 10, push: 25 },
  contests: { email: 40, sms: 15, push: 35 },
  feedback: { email: 50, sms: 10, push: 20 },
};

/** A deterministic number 0-99 for (person, salt). */
function percentile(i: number, salt: number): number {
  let h = Math.imul(i ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(salt + 1, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return ((h ^ (h >>> 16)) >>> 0) % 100;
}

function pick<T>(list: readonly T[], n: number): T {
  return list[n % list.length] as T;
}

export const clientNumber = (i: number): string => `DEMO${String(i).padStart(7, '0')}`;
export const emailOf = (i: number): string | null => (i % 23 === 0 ? null : `person${i}@example.com`);
export const phoneOf = (i: number): string | null =>
  i % 11 === 0 ? null : `+3712${String(i % 10_000_000).padStart(7, '0')}`;
export const tokenOf = (i: number): string | null =>
  i % 4 === 0 ? null : `demo-fcm-${i.toString(36)}-${'0'.repeat(24)}`;

/**
 * Who the fakes treat badly: a few hard-bouncing addresses (SMTP 550 → failed, suppressed), dead
 * push tokens (FCM 404 UNREGISTERED → failed, device invalidated), invalid numbers (Twilio 21211),
 * some answers that fail once (SMTP 451, retried), and SMS whose connection is cut after the fake
 * took them (→ indeterminate, never sent again).
 */
export function troubled(size: number): {
  bounce: number[];
  deadToken: number[];
  badNumber: number[];
  transient: number[];
  dropped: number[];
} {
  const every = (step: number, offset: number) =>
    Array.from({ length: Math.floor((size - offset) / step) + 1 }, (_, k) => offset + k * step).filter(
      (i) => i >= 1 && i <= size,
    );
  return {
    bounce: every(997, 5).filter((i) => emailOf(i) !== null),
    deadToken: every(991, 6).filter((i) => tokenOf(i) !== null),
    badNumber: every(1_499, 7).filter((i) => phoneOf(i) !== null),
    transient: every(487, 9).filter((i) => emailOf(i) !== null),
    dropped: every(4_999, 13).filter((i) => phoneOf(i) !== null),
  };
}

/** One NDJSON line for `consentcast import` (docs/import.md). */
export function personLine(i: number): string {
  const locale = i % 10 < 5 ? 'lv' : i % 10 < 8 ? 'ru' : 'en';
  const [first, last] =
    locale === 'ru' ? [RU_FIRST, RU_LAST] : locale === 'en' ? [EN_FIRST, EN_LAST] : [LV_FIRST, LV_LAST];
  const consents: object[] = [];
  PURPOSES.forEach((purpose, p) => {
    CHANNELS.forEach((channel, c) => {
      const roll = percentile(i, p * 3 + c);
      const since = `202${3 + (roll % 3)}-0${1 + (roll % 9)}-1${roll % 10}T09:${String(roll % 60).padStart(2, '0')}:00Z`;
      if (roll < GRANT_PERCENT[purpose][channel]) {
        consents.push({
          purpose,
          channel,
          status: 'granted',
          occurred_at: since,
          notice_version: DEMO_NOTICE_VERSION,
        });
      } else if (roll > 95) {
        consents.push({ purpose, channel, status: 'withdrawn', occurred_at: since });
      }
    });
  });
  const token = tokenOf(i);
  return JSON.stringify({
    client_number: clientNumber(i),
    first_name: pick(first, i * 7 + 3),
    last_name: pick(last, i * 13 + 5),
    email: emailOf(i),
    phone: phoneOf(i),
    locale,
    time_zone: pick(ZONES, i * 17),
    attributes: {
      interests: [pick(INTERESTS, i), pick(INTERESTS, i * 3 + 1)],
      segment: pick(['mass', 'gold'], i),
    },
    ...(token !== null ? { devices: [{ token, platform: i % 3 === 0 ? 'ios' : 'android' }] } : {}),
    consents,
  });
}

/** The whole audience as NDJSON, in slices (the import reads it from standard input). */
export async function* audienceNdjson(size: number): AsyncGenerator<string> {
  const slice = 1_000;
  for (let from = 1; from <= size; from += slice) {
    const lines: string[] = [];
    for (let i = from; i < Math.min(size + 1, from + slice); i++) lines.push(personLine(i));
    yield `${lines.join('\n')}\n`;
  }
}
