import { keyedHash, normaliseEmail } from '../../src/crypto/pseudonym.js';

/**
 * Deterministic synthetic people for benchmarks: row `i` is always the same person, so every variant
 * inserts identical data, and later benchmarks can seed the same population. Latvian mobile numbers
 * (+371 2xxxxxxx), locales weighted like the customer base (lv 60 %, ru 30 %, en 10 %).
 */
export type Locale = 'lv' | 'en' | 'ru';

/**
 * The key of the contact hashes (email_hash, phone_hash) of synthetic people. Not a secret: no real
 * address is ever hashed with it; it only has to be the same in every benchmark that seeds people.
 */
export const SYNTHETIC_PSEUDONYM_KEY = 'consentcast-bench-not-a-secret';

/** Columns as the recipients table takes them; `attributes` is JSON text (see `Json` in src/db/schema.ts). */
export type SyntheticRecipient = {
  readonly client_number: string;
  readonly first_name: string;
  readonly last_name: string;
  readonly email: string;
  readonly phone: string;
  /** Keyed hashes of the normalised address and number, as the application writes them. */
  readonly email_hash: string;
  readonly phone_hash: string;
  readonly locale: Locale;
  readonly time_zone: string;
  readonly attributes: string;
};

export const RECIPIENT_COLUMNS = [
  'client_number',
  'first_name',
  'last_name',
  'email',
  'phone',
  'email_hash',
  'phone_hash',
  'locale',
  'time_zone',
  'attributes',
] as const satisfies readonly (keyof SyntheticRecipient)[];

type Name = readonly [display: string, ascii: string];

const LATVIAN_FIRST: readonly Name[] = [
  ['Jānis', 'janis'],
  ['Anna', 'anna'],
  ['Kristaps', 'kristaps'],
  ['Līga', 'liga'],
  ['Mārtiņš', 'martins'],
  ['Ilze', 'ilze'],
  ['Andris', 'andris'],
  ['Inese', 'inese'],
  ['Edgars', 'edgars'],
  ['Zane', 'zane'],
];
const LATVIAN_LAST: readonly Name[] = [
  ['Bērziņš', 'berzins'],
  ['Kalniņa', 'kalnina'],
  ['Ozols', 'ozols'],
  ['Liepa', 'liepa'],
  ['Krūmiņš', 'krumins'],
  ['Jansone', 'jansone'],
  ['Zariņš', 'zarins'],
  ['Pētersone', 'petersone'],
];
const RUSSIAN_FIRST: readonly Name[] = [
  ['Алексей', 'aleksej'],
  ['Ольга', 'olga'],
  ['Дмитрий', 'dmitrij'],
  ['Наталья', 'natalja'],
  ['Сергей', 'sergej'],
  ['Елена', 'jelena'],
];
const RUSSIAN_LAST: readonly Name[] = [
  ['Иванов', 'ivanov'],
  ['Смирнова', 'smirnova'],
  ['Кузнецов', 'kuznecov'],
  ['Попова', 'popova'],
  ['Соколов', 'sokolov'],
];
const SEGMENTS = ['mass', 'affluent', 'youth', 'senior', 'business'] as const;
const TIERS = ['none', 'silver', 'gold', 'platinum'] as const;
const INTERESTS = ['travel', 'insurance', 'savings', 'mortgage', 'cards', 'investing'] as const;
const CITIES = ['Rīga', 'Daugavpils', 'Liepāja', 'Jelgava', 'Jūrmala', 'Ventspils', 'Rēzekne'] as const;

function pick<T>(list: readonly T[], i: number): T {
  const item = list[i % list.length];
  if (item === undefined) throw new RangeError('pick from an empty list');
  return item;
}

function localeOf(i: number): Locale {
  const bucket = i % 10;
  return bucket < 6 ? 'lv' : bucket < 9 ? 'ru' : 'en';
}

export function syntheticRecipient(i: number): SyntheticRecipient {
  const locale = localeOf(i);
  const russian = locale === 'ru';
  // Different strides through the lists, so that names do not repeat in lockstep.
  const [first, firstAscii] = pick(russian ? RUSSIAN_FIRST : LATVIAN_FIRST, i * 7 + 3);
  const [last, lastAscii] = pick(russian ? RUSSIAN_LAST : LATVIAN_LAST, i * 13 + 5);
  const attributes = {
    segment: pick(SEGMENTS, i),
    loyaltyTier: pick(TIERS, i * 3),
    customerSince: 2000 + (i % 25),
    city: pick(CITIES, i * 11),
    householdSize: 1 + (i % 5),
    interests: [pick(INTERESTS, i), pick(INTERESTS, i * 5 + 1)],
  };
  const email = `${firstAscii}.${lastAscii}.${i}@example.lv`;
  const phone = `+3712${String(i % 10_000_000).padStart(7, '0')}`;
  return {
    client_number: `C${String(i).padStart(9, '0')}`,
    first_name: first,
    last_name: last,
    email,
    phone,
    email_hash: keyedHash(SYNTHETIC_PSEUDONYM_KEY, 'email', normaliseEmail(email)),
    phone_hash: keyedHash(SYNTHETIC_PSEUDONYM_KEY, 'phone', phone),
    locale,
    time_zone: 'Europe/Riga',
    attributes: JSON.stringify(attributes),
  };
}

/** Rows `from` to `from + count - 1`. */
export function syntheticRecipients(from: number, count: number): SyntheticRecipient[] {
  return Array.from({ length: count }, (_, k) => syntheticRecipient(from + k));
}
