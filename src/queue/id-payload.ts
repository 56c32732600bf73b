/**
 * Job payloads carry one id and nothing else (N16: no personal data in Redis). Reads `{ [key]: id }`
 * with a positive safe-integer id and no other field; anything else is undefined (the caller fails
 * the job as unrecoverable).
 */
export function parseIdPayload<K extends string>(data: unknown, key: K): Record<K, number> | undefined {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return undefined;
  const id: unknown = (data as Record<string, unknown>)[key];
  return Object.keys(data).length === 1 && Number.isSafeInteger(id) && (id as number) > 0
    ? ({ [key]: id } as Record<K, number>)
    : undefined;
}
