import { type RawBuilder, sql } from 'kysely';

/**
 * N15: the messages that count towards a person's frequency cap and an offer's resend window — those
 * that may have reached the person: sent or being sent, and `indeterminate` unless an operator
 * resolved it as not sent (the provider may have delivered it). The same predicate as the partial
 * index `messages_cap_window` (migration 0013), so the counts use it; the claim's own copy is in
 * `consentcast_claim` (migration 0015). `alias` is the messages alias of
 * the calling query (a fixed identifier from our code, never input).
 */
export function mayHaveReached(alias: 'm' | 'x'): RawBuilder<boolean> {
  return sql<boolean>`(${sql.ref(`${alias}.status`)} IN ('sending', 'sent') OR (${sql.ref(`${alias}.status`)} = 'indeterminate' AND ${sql.ref(`${alias}.resolution`)} IS DISTINCT FROM 'not_sent'))`;
}
