import { ClientRequest } from 'node:http';

/**
 * Whether an HTTP request was handed to the operating system in full; undefined when `request` is
 * not a Node request (then nobody can tell). A server acts on a request only once it has all of
 * it, so a request that was not fully written was certainly not accepted (retrying cannot
 * duplicate it); one that was may have been, whatever happened afterwards.
 */
export function requestWritten(request: unknown): boolean | undefined {
  return request instanceof ClientRequest ? request.writableFinished : undefined;
}

/**
 * Milliseconds to wait from a Retry-After header: delta-seconds or an HTTP date. Undefined when
 * absent or unreadable; never negative.
 */
export function parseRetryAfter(value: unknown, now = Date.now()): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (typeof raw === 'number' && Number.isFinite(raw) && raw >= 0) return Math.round(raw * 1000);
  if (typeof raw !== 'string' || raw.trim() === '') return undefined;
  const text = raw.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
