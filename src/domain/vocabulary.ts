/** The closed vocabularies of the privacy notice (N3, N4) and of the consent ledger. */

export const PURPOSES = ['service_offers', 'partner_offers', 'contests', 'feedback'] as const;
export type Purpose = (typeof PURPOSES)[number];

export const CHANNELS = ['email', 'sms', 'push'] as const;
export type Channel = (typeof CHANNELS)[number];

export const LOCALES = ['lv', 'en', 'ru'] as const;
export type Locale = (typeof LOCALES)[number];

export const CONSENT_SOURCES = [
  'app',
  'web',
  'unsubscribe_link',
  'sms_keyword',
  'operator',
  'import',
  'api',
] as const;
export type ConsentSource = (typeof CONSENT_SOURCES)[number];
