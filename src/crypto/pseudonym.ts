import { createHash, createHmac } from 'node:crypto';

/**
 * Keyed hashes stand in for identifiers wherever a record must outlive the identifier: consent
 * evidence (actor, IP, user agent), suppressions (address, number) and erasure tombstones (client
 * number). Each kind has its own domain so that equal strings of different kinds never collide.
 */
export type PseudonymKind = 'actor' | 'ip' | 'user_agent' | 'client_number' | 'email' | 'phone';

export function keyedHash(secret: string, kind: PseudonymKind, value: string): string {
  return createHmac('sha256', secret).update(`${kind}\u0000${value}`, 'utf8').digest('hex');
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Lower-cased and trimmed: the form in which addresses are stored, compared and hashed. */
export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** `+371 2000-0000` → `+37120000000`; undefined when it is not a plausible E.164 number. */
export function normalisePhone(phone: string): string | undefined {
  const compact = phone.replace(/[\s().-]/g, '');
  const e164 = compact.startsWith('00') ? `+${compact.slice(2)}` : compact;
  return /^\+[1-9]\d{6,14}$/.test(e164) ? e164 : undefined;
}
