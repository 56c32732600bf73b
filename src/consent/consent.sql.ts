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

/**
 * SQL twin of `supersedes` for `INSERT INTO consents AS c ... ON CONFLICT DO UPDATE ... WHERE`: the
 * arriving state replaces the row when it takes effect later, or at the same instant as a withdrawal
 * or lapse against a grant. `effective_at` is LEAST(occurred_at, recorded_at) on both sides, a
 * generated column (migrations/0018). Every writer of `consents` uses this text (ledger.ts, and the
 * import's merge-sql.ts), so the rule has one spelling.
 */
export const SUPERSEDES_ON_CONFLICT =
  "(excluded.effective_at, excluded.status <> 'granted') > (c.effective_at, c.status <> 'granted')";
