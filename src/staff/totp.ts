import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { generateSecret, generateURI, verify } from 'otplib';

/** TOTP (RFC 6238) through otplib: 6 digits, 30-second steps, one step of clock drift either way. */

export const TOTP_ISSUER = 'consentcast';

export function newTotpSecret(): string {
  return generateSecret();
}

/** The otpauth:// URI an authenticator app reads; labelled with the staff id, not the e-mail address. */
export function totpUri(secret: string, staffId: number): string {
  return generateURI({ issuer: TOTP_ISSUER, label: `staff-${staffId}`, secret });
}

/**
 * The time step of a valid code, or undefined. A code whose step is not after `afterStep` (the last
 * one accepted) is refused: a code works once.
 */
export async function checkTotp(
  secret: string,
  code: string,
  afterStep: number | null,
  now: Date,
): Promise<number | undefined> {
  if (!/^[0-9]{6}$/.test(code)) return undefined;
  const result = await verify({
    secret,
    token: code,
    epoch: Math.floor(now.getTime() / 1000),
    epochTolerance: 30,
    ...(afterStep !== null ? { afterTimeStep: afterStep } : {}),
  });
  return result.valid && 'timeStep' in result && typeof result.timeStep === 'number'
    ? result.timeStep
    : undefined;
}

/**
 * TOTP secrets are stored sealed (AES-256-GCM, Node's built-in crypto), so a copy of the database or a
 * reader of the `staff` table cannot mint codes. The key is derived (HKDF-SHA256, its own label) from
 * PSEUDONYM_SECRET, which is never rotated; the database never sees it. Format: `v1.<iv>.<sealed+tag>`.
 */
export function totpKeyOf(pseudonymSecret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', pseudonymSecret, '', 'consentcast staff totp secret v1', 32));
}

export function sealTotpSecret(secret: string, key: Buffer): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const sealed = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return `v1.${iv.toString('base64url')}.${sealed.toString('base64url')}`;
}

/** The secret, or undefined when the value was not sealed with this key (or was altered). */
export function openTotpSecret(stored: string, key: Buffer): string | undefined {
  const [version, iv, sealed] = stored.split('.');
  if (version !== 'v1' || iv === undefined || sealed === undefined) return undefined;
  const bytes = Buffer.from(sealed, 'base64url');
  if (bytes.length < 17) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(bytes.subarray(bytes.length - 16));
    return Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - 16)), decipher.final()]).toString(
      'utf8',
    );
  } catch {
    return undefined;
  }
}
