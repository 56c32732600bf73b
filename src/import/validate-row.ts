import { parseInstant } from '../domain/instant.js';
import { CHANNELS, type Channel, PURPOSES, type Purpose } from '../domain/vocabulary.js';
import type { Platform } from '../recipients/devices.repository.js';
import { CLIENT_NUMBER, type RecipientInput, validateRecipientInput } from '../recipients/recipient-input.js';
import type { ImportConsent, ImportDevice, ImportRow, RowProblem, SourceRecord } from './import-row.js';

/** Notice versions known to the database, with the SHA-256 of their text. */
export type KnownNotices = ReadonlyMap<string, string>;

export const MAX_DEVICES_PER_ROW = 20;
export const MAX_CONSENTS_PER_ROW = 100;
/** The ledger's trigger refuses events further in the future than this (clock skew allowance). */
const FUTURE_TOLERANCE_MS = 5 * 60_000;

const TEXT_FIELDS = ['first_name', 'last_name', 'email', 'phone', 'birth_date', 'personal_code'] as const;
const ROW_KEYS = new Set<string>([
  'client_number',
  ...TEXT_FIELDS,
  'locale',
  'time_zone',
  'attributes',
  'devices',
  'consents',
]);
const CONSENT_KEYS = new Set(['purpose', 'channel', 'status', 'occurred_at', 'notice_version']);
const DEVICE_KEYS = new Set(['token', 'platform']);
const PLATFORMS: readonly Platform[] = ['android', 'ios', 'web'];
/** A key that is safe to echo as a field name (a key that is not could itself be someone's data). */
const NAME_LIKE = /^[A-Za-z0-9_]{1,64}$/;

/** PostgreSQL text and jsonb cannot hold U+0000; JSON can. */
function containsNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (Array.isArray(value)) return value.some(containsNul);
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).some(([k, v]) => k.includes('\u0000') || containsNul(v));
  }
  return false;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

class Problems {
  readonly list: RowProblem[] = [];
  constructor(
    private readonly line: number,
    private readonly rename: (path: string) => string,
  ) {}

  add(field: string | null, message: string): void {
    const name = field === null ? null : this.rename(field);
    // A CSV column shared by several consents (consent_at) would otherwise be reported once per consent.
    if (!this.list.some((p) => p.field === name && p.message === message)) {
      this.list.push({ line: this.line, field: name, message });
    }
  }
}

function readRecipientInput(row: Record<string, unknown>, problems: Problems): RecipientInput {
  const input: RecipientInput = {};
  for (const field of TEXT_FIELDS) {
    const v = row[field];
    if (v === undefined) continue;
    if (v === null || typeof v === 'string') input[field] = v;
    else problems.add(field, 'must be a string or null');
  }
  if (row.locale !== undefined) {
    if (typeof row.locale === 'string') input.locale = row.locale;
    else problems.add('locale', 'must be a string');
  }
  if (row.time_zone !== undefined) {
    // The API's schema caps a time zone at 64 characters before the validator (which remembers every
    // name it was asked about) sees it; a file of made-up zones must not grow that memory.
    if (typeof row.time_zone !== 'string') problems.add('time_zone', 'must be a string');
    else if (row.time_zone.length > 64)
      problems.add('time_zone', 'is not an IANA time zone, e.g. Europe/Riga');
    else input.time_zone = row.time_zone;
  }
  if (row.attributes !== undefined) {
    if (isObject(row.attributes)) input.attributes = row.attributes;
    else problems.add('attributes', 'must be a JSON object');
  }
  return input;
}

function readDevices(value: unknown, problems: Problems): ImportDevice[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    problems.add('devices', 'must be a list of {token, platform}');
    return [];
  }
  if (value.length > MAX_DEVICES_PER_ROW) {
    problems.add('devices', `must hold at most ${MAX_DEVICES_PER_ROW} devices`);
    return [];
  }
  const devices: ImportDevice[] = [];
  value.forEach((d: unknown, i) => {
    const at = `devices/${i}`;
    if (!isObject(d)) {
      problems.add(at, 'must be an object {token, platform}');
      return;
    }
    for (const key of Object.keys(d)) {
      if (!DEVICE_KEYS.has(key))
        problems.add(`${at}/${NAME_LIKE.test(key) ? key : '?'}`, 'is not a known field');
    }
    const { token, platform } = d;
    let ok = true;
    if (typeof token !== 'string' || token.length < 8 || token.length > 4096) {
      problems.add(`${at}/token`, 'must be a push token of 8-4096 characters');
      ok = false;
    }
    if (typeof platform !== 'string' || !(PLATFORMS as readonly string[]).includes(platform)) {
      problems.add(`${at}/platform`, `must be one of ${PLATFORMS.join(', ')}`);
      ok = false;
    }
    if (ok) devices.push({ token: token as string, platform: platform as Platform });
  });
  return devices;
}

function readConsents(
  value: unknown,
  notices: KnownNotices,
  now: number,
  problems: Problems,
): ImportConsent[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    problems.add('consents', 'must be a list of {purpose, channel, status, occurred_at, notice_version}');
    return [];
  }
  if (value.length > MAX_CONSENTS_PER_ROW) {
    problems.add('consents', `must hold at most ${MAX_CONSENTS_PER_ROW} entries`);
    return [];
  }
  const consents: ImportConsent[] = [];
  value.forEach((c: unknown, i) => {
    const at = `consents/${i}`;
    if (!isObject(c)) {
      problems.add(at, 'must be an object {purpose, channel, status, occurred_at, notice_version}');
      return;
    }
    const before = problems.list.length;
    for (const key of Object.keys(c)) {
      if (!CONSENT_KEYS.has(key))
        problems.add(`${at}/${NAME_LIKE.test(key) ? key : '?'}`, 'is not a known field');
    }
    const { purpose, channel, status, occurred_at: occurredAt, notice_version: noticeVersion } = c;
    if (typeof purpose !== 'string' || !(PURPOSES as readonly string[]).includes(purpose)) {
      problems.add(`${at}/purpose`, `must be one of ${PURPOSES.join(', ')}`);
    }
    if (typeof channel !== 'string' || !(CHANNELS as readonly string[]).includes(channel)) {
      problems.add(`${at}/channel`, `must be one of ${CHANNELS.join(', ')}`);
    }
    if (status !== 'granted' && status !== 'withdrawn') {
      problems.add(`${at}/status`, 'must be granted or withdrawn');
    }
    const ms = typeof occurredAt === 'string' ? parseInstant(occurredAt) : undefined;
    if (ms === undefined) {
      problems.add(`${at}/occurred_at`, 'must be a date and time with a zone, e.g. 2024-05-01T12:00:00Z');
    } else if (ms > now + FUTURE_TOLERANCE_MS) {
      problems.add(`${at}/occurred_at`, 'is in the future');
    }
    let sha256: string | undefined;
    if (noticeVersion === undefined || noticeVersion === null) {
      if (status === 'granted') {
        problems.add(
          `${at}/notice_version`,
          'is required to grant consent (the notice the person was shown)',
        );
      }
    } else if (typeof noticeVersion !== 'string') {
      problems.add(`${at}/notice_version`, 'must be a string');
    } else {
      sha256 = notices.get(noticeVersion);
      if (sha256 === undefined) problems.add(`${at}/notice_version`, 'is not a known notice version');
    }
    if (problems.list.length > before) return;
    const grant = status === 'granted';
    consents.push({
      purpose: purpose as Purpose,
      channel: channel as Channel,
      action: grant ? 'grant' : 'withdraw',
      occurredAt: occurredAt as string,
      noticeVersion: grant ? (noticeVersion as string) : null,
      noticeSha256: grant ? (sha256 ?? null) : null,
    });
  });
  return consents;
}

/**
 * Validates one row of an import with the same rules as the API (`validateRecipientInput`), plus
 * devices and consents. Every problem names its field; none carries a value.
 */
export function validateImportRow(
  record: SourceRecord,
  notices: KnownNotices,
  now = Date.now(),
): { ok: true; row: ImportRow } | { ok: false; problems: RowProblem[] } {
  const problems = new Problems(record.line, record.fieldName ?? ((path) => path));
  const row = record.value;
  if (!isObject(row)) {
    problems.add(null, 'is not an object');
    return { ok: false, problems: problems.list };
  }
  for (const [key, value] of Object.entries(row)) {
    if (!ROW_KEYS.has(key)) problems.add(NAME_LIKE.test(key) ? key : '?', 'is not a known field');
    else if (containsNul(value)) problems.add(key, 'contains a NUL character');
  }
  const clientNumber = row.client_number;
  if (clientNumber === undefined || clientNumber === null || clientNumber === '') {
    problems.add('client_number', 'is required');
  } else if (typeof clientNumber !== 'string' || !CLIENT_NUMBER.test(clientNumber)) {
    problems.add('client_number', 'must be 1-64 letters, digits, _ or -');
  }
  const checked = validateRecipientInput(readRecipientInput(row, problems), '');
  if (!checked.ok) {
    for (const p of checked.problems) {
      // '/email' or '/attributes/<key>': the key of an attribute is echoed only when it looks like a name.
      const [field = '', key] = p.field.slice(1).split('/');
      problems.add(key === undefined ? field : `${field}/${NAME_LIKE.test(key) ? key : '?'}`, p.message);
    }
  }
  const devices = readDevices(row.devices, problems);
  const consents = readConsents(row.consents, notices, now, problems);
  if (problems.list.length > 0 || !checked.ok) return { ok: false, problems: problems.list };
  return {
    ok: true,
    row: {
      line: record.line,
      clientNumber: clientNumber as string,
      fields: checked.value,
      devices,
      consents,
    },
  };
}
