/**
 * Personal data must never reach a log line or a BullMQ failed reason (N16). Known fields are
 * dropped by name; free text (provider error messages, SQL errors) is scrubbed by pattern, because a
 * provider will happily echo the address or number it refused.
 */

/** Field names whose values are personal data or secrets wherever they appear. */
export const SENSITIVE_KEYS: ReadonlySet<string> = new Set(
  [
    'email',
    'emailaddress',
    'phone',
    'phonee164',
    'msisdn',
    'to',
    'from',
    'recipient',
    'firstname',
    'lastname',
    'name',
    'fullname',
    'personalcode',
    'birthdate',
    'token',
    'devicetoken',
    'pushtoken',
    'registrationtoken',
    'address',
    'ip',
    'useragent',
    'attributes',
    'password',
    'secret',
    'authorization',
    'cookie',
    'apikey',
    'authtoken',
    'body',
    'html',
    'text',
    'subject',
  ].map((k) => k.toLowerCase()),
);

const PATTERNS: readonly [RegExp, string][] = [
  // e-mail addresses, also inside <...> and after "RCPT TO:"
  [/[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g, '[email]'],
  // FCM / APNs registration tokens: long runs of token characters, often with a ':'
  [/[A-Za-z0-9_-]{20,}:[A-Za-z0-9_-]{20,}/g, '[token]'],
  [/\b[A-Za-z0-9_-]{100,}\b/g, '[token]'],
  // international numbers, however they are spaced
  [/\+\d[\d\s().-]{5,}\d/g, '[phone]'],
  // Latvian personal codes (DDMMYY-NNNNN, and the newer 32xxxx-xxxxx form)
  [/\b\d{6}-\d{5}\b/g, '[personal-code]'],
  // any other run of 8-15 digits, optionally grouped by single spaces or dashes (local numbers,
  // unhyphenated personal codes); SMTP status codes such as "550 5.1.1" are left alone
  [/\b\d(?:[\s-]?\d){7,14}\b/g, '[number]'],
];

/** Replaces anything that looks like an address, number, token or personal code. */
export function scrubText(text: string): string {
  let out = text;
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

function isSensitiveKey(key: string): boolean {
  return SENSITIVE_KEYS.has(key.toLowerCase().replace(/[_-]/g, ''));
}

/** A scrubbed, plain copy of an error: name, code, status and a scrubbed message. */
export function scrubError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) {
    // Already serialised (pino may run formatters before serializers): scrub it as a value.
    if (error !== null && typeof error === 'object') return scrubValue(error) as Record<string, unknown>;
    return { message: scrubText(String(error)) };
  }
  const e = error as Error & { code?: unknown; status?: unknown; responseCode?: unknown; cause?: unknown };
  const out: Record<string, unknown> = { type: e.name, message: scrubText(e.message) };
  if (typeof e.code === 'string' || typeof e.code === 'number') out.code = e.code;
  if (typeof e.status === 'number') out.status = e.status;
  if (typeof e.responseCode === 'number') out.responseCode = e.responseCode;
  if (e.stack !== undefined) out.stack = scrubText(e.stack);
  if (e.cause !== undefined) out.cause = scrubError(e.cause);
  return out;
}

/** A deep copy with sensitive keys replaced and every string scrubbed. */
export function scrubValue(value: unknown, depth = 0): unknown {
  if (depth > 8) return '[deep]';
  if (typeof value === 'string') return scrubText(value);
  if (value instanceof Error) return scrubError(value);
  if (Array.isArray(value)) return value.map((v) => scrubValue(v, depth + 1));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      // A number or flag under a sensitive name is a count or a marker (`messages.email: 12`), not data.
      const harmless = typeof v === 'number' || typeof v === 'boolean' || v === null;
      out[k] = isSensitiveKey(k) && !harmless ? '[redacted]' : scrubValue(v, depth + 1);
    }
    return out;
  }
  return value;
}
