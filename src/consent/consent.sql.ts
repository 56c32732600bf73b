import { type RawBuilder, sql } from 'kysely';
import type { BlockReason } from './decision.js';

/**
 * SQL twin of `consentDecision`: NULL when the person may be selected or sent to, otherwise the same
 * reason the pure function gives, in the same order. `recipient` and `consent` are table aliases
 * (the consent row may be missing: a LEFT JOIN, which is no consent).
 */
export function consentBlockReasonSql(recipient: string, consent: string): RawBuilder<BlockReason | null> {
  const r = (column: string) => sql.ref(`${recipient}.${column}`);
  return sql<BlockReason | null>`CASE
    WHEN ${r('erased_at')} IS NOT NULL THEN 'erased'
    WHEN ${r('objected_at')} IS NOT NULL THEN 'objected'
    WHEN ${r('restricted_at')} IS NOT NULL THEN 'restricted'
    WHEN ${sql.ref(`${consent}.status`)} IS DISTINCT FROM 'granted' THEN 'no_consent'
  END`;
}
