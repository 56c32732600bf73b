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
