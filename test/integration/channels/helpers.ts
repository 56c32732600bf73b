import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import type { SendResult } from '../../../src/channels/send-result.js';
import type { ControllerIdentity, EmailConfig, PushConfig, SmsConfig } from '../../../src/config/config.js';

export const CONTROLLER: ControllerIdentity = {
  name: 'AS "Citadele banka"',
  registrationNumber: '40103303559',
  address: 'Republikas laukums 2A, Rīga, LV-1010',
  phone: '+371 67010000',
  email: 'info@citadele.lv',
  dpoEmail: 'gdpr@citadele.lv',
  supportEmail: 'support@klix.app',
};

export const TWILIO_SID = `AC${'1a'.repeat(16)}`;
export const TWILIO_TOKEN = 'test-twilio-auth-token';
export const PUBLIC_BASE_URL = 'https://cc.example.lv';

export function emailConfig(port: number, dkim?: EmailConfig['dkim']): EmailConfig {
  return {
    smtpUrl: `smtp://127.0.0.1:${port}`,
    from: 'Klix <offers@klix.app>',
    ratePerSecond: 100,
    ...(dkim !== undefined ? { dkim } : {}),
  };
}

export function smsConfig(baseUrl: string, overrides: Partial<SmsConfig> = {}): SmsConfig {
  return {
    accountSid: TWILIO_SID,
    authToken: TWILIO_TOKEN,
    from: 'Klix',
    region: 'ie1',
    edge: 'dublin',
    apiBaseUrl: baseUrl,
    optOutText: 'STOP uz 1234',
    ratePerSecond: 10,
    senderMps: 10,
    ...overrides,
  };
}

export function pushConfig(baseUrl: string): PushConfig {
  return { projectId: 'klix-test', apiBaseUrl: baseUrl, ratePerSecond: 500 };
}

/** A token shaped like a real FCM registration token (instance id, ':', long APA91 part). */
export function fcmToken(): string {
  const part = (bytes: number) => randomBytes(bytes).toString('base64url');
  return `${part(16).slice(0, 22)}:APA91b${part(110).slice(0, 134)}`;
}

/** A distinct Latvian mobile number per call. */
let phoneCounter = 0;
export function phone(): string {
  phoneCounter += 1;
  return `+3712${String(1_000_000 + phoneCounter).slice(-7)}`;
}

/** The result's text carries none of the given addresses, numbers or tokens (N16). */
export function expectNoPersonalData(result: unknown, ...secrets: readonly string[]): void {
  const text = JSON.stringify(result);
  for (const secret of secrets) expect(text).not.toContain(secret);
}

export function expectKind<K extends SendResult['kind']>(
  result: SendResult,
  kind: K,
): asserts result is Extract<SendResult, { kind: K }> {
  expect(result.kind, JSON.stringify(result)).toBe(kind);
}
