import { sql } from 'kysely';
import type { Config } from '../config/config.js';
import type { Db } from '../db/database.js';
import type { Channel } from '../domain/vocabulary.js';
import { mayHaveReached } from './may-have-reached.js';

/**
 * Claim and re-check, just before sending (N1, N13). For a batch of message ids, in one transaction:
 *   1. lock the messages still `queued` (a duplicate job, or another worker, finds nothing to claim);
 *   2. lock their people (FOR NO KEY UPDATE): the per-person lock under which the frequency cap is
 *      counted, so two channels cannot both pass it at once; marker changes (restrict, object,
 *      erase) serialise with it;
 *   3. lock their consent rows FOR SHARE: a withdrawal being written waits for nothing more than this
 *      commit, and one committed first is seen by step 4 (a new statement, a new snapshot);
 *   4. one UPDATE decides every message: claimed (`sending`, with a lease), skipped with the reason,
 *      or left `queued` with a time to try again (paused campaign, quiet hours).
 * So a withdrawal committed before the claim always stops the message.
 */

export type SkipReason =
  | 'consent_withdrawn'
  | 'restricted'
  | 'objected'
  | 'erased'
  | 'no_contact'
  | 'suppressed'
  | 'frequency_cap'
  | 'campaign_cancelled'
  | 'offer_unavailable';

export type ClaimOutcome =
  | { readonly kind: 'claimed'; readonly attempt: number }
  | { readonly kind: 'skipped'; readonly reason: SkipReason }
  | { readonly kind: 'deferred'; readonly until: Date; readonly why: 'paused' | 'quiet_hours' }
  | { readonly kind: 'not_queued' };

export interface ClaimSettings {
  readonly leaseSeconds: number;
  /** How long a paused campaign's message waits before it is looked at again. */
  readonly pausedRetrySeconds: number;
  readonly policy: Config['policy'];
}

interface Decided {
  id: number;
  decision: string;
  until: Date | null;
  attempts: number;
}

export async function claimMessages(
  db: Db,
  channel: Channel,
  ids: readonly number[],
  settings: ClaimSettings,
): Promise<ClaimOutcome[]> {
  const unique = [...new Set(ids)].sort((a, b) => a - b);
  const { policy } = settings;
  const decided = await db.transaction().execute(async (trx) => {
    const locked = await sql<{ id: number }>`
      SELECT id FROM messages WHERE id = ANY(${unique}::bigint[]) AND status = 'queued' AND channel = ${channel}::text
      ORDER BY id FOR UPDATE
    `.execute(trx);
    const mine = locked.rows.map((r) => Number(r.id));
    if (mine.length === 0) return [];
    await sql`
      SELECT r.id FROM recipients r
      WHERE r.id IN (SELECT recipient_id FROM messages WHERE id = ANY(${mine}::bigint[]))
      ORDER BY r.id FOR NO KEY UPDATE
    `.execute(trx);
    await sql`
      SELECT 1 FROM consents c
      JOIN messages m ON m.recipient_id = c.recipient_id AND m.purpose = c.purpose AND m.channel = c.channel
      WHERE m.id = ANY(${mine}::bigint[])
      ORDER BY c.recipient_id, c.purpose, c.channel FOR SHARE OF c
    `.execute(trx);
    const { rows } = await sql<Decided>`
      WITH m AS (
        SELECT m.id, m.recipient_id, m.purpose, m.channel, m.offer_id, m.attempts,
               camp.status AS campaign_status, camp.quiet_start_minute, camp.quiet_end_minute,
               COALESCE(camp.frequency_cap_max, ${policy.frequencyCap.max}::int) AS cap_max,
               COALESCE(camp.frequency_cap_window_hours, ${policy.frequencyCap.windowHours}::int) AS cap_hours,
               r.time_zone, r.erased_at, r.objected_at, r.restricted_at, r.email, r.email_hash, r.phone, r.phone_hash,
               c.status AS consent_status, o.status AS offer_status, o.valid_from, o.valid_until
        FROM messages m
        JOIN recipients r ON r.id = m.recipient_id
        JOIN campaigns camp ON camp.id = m.campaign_id
        JOIN offers o ON o.id = m.offer_id
        LEFT JOIN consents c ON c.recipient_id = m.recipient_id AND c.purpose = m.purpose AND c.channel = m.channel
        WHERE m.id = ANY(${mine}::bigint[])
      ),
      pre AS (
        SELECT m.*,
          CASE
            WHEN m.campaign_status = 'cancelled' THEN 'skip:campaign_cancelled'
            WHEN m.erased_at IS NOT NULL THEN 'skip:erased'
            WHEN m.objected_at IS NOT NULL THEN 'skip:objected'
            WHEN m.restricted_at IS NOT NULL THEN 'skip:restricted'
            WHEN m.consent_status IS DISTINCT FROM 'granted' THEN 'skip:consent_withdrawn'
            WHEN (m.channel = 'email' AND m.email IS NULL) OR (m.channel = 'sms' AND m.phone IS NULL)
              OR (m.channel = 'push' AND NOT EXISTS (SELECT 1 FROM devices d WHERE d.recipient_id = m.recipient_id AND d.invalidated_at IS NULL))
              THEN 'skip:no_contact'
            WHEN EXISTS (SELECT 1 FROM suppressions s WHERE s.channel = m.channel
                           AND s.address_hash = CASE m.channel WHEN 'email' THEN m.email_hash WHEN 'sms' THEN m.phone_hash END)
              THEN 'skip:suppressed'
            WHEN m.offer_status <> 'active' OR (m.valid_until IS NOT NULL AND m.valid_until <= now()) THEN 'skip:offer_unavailable'
            WHEN m.campaign_status = 'paused' THEN 'defer:paused'
            WHEN consentcast_quiet_until(m.time_zone,
                   COALESCE(m.quiet_start_minute, ${policy.quietHours.startMinute}::int),
                   COALESCE(m.quiet_end_minute, ${policy.quietHours.endMinute}::int), now()) IS NOT NULL THEN 'defer:quiet_hours'
            ELSE 'claim'
          END AS pre_decision,
          (SELECT count(*)::int FROM messages x WHERE x.recipient_id = m.recipient_id AND ${mayHaveReached('x')}
             AND x.purpose = m.purpose AND x.claimed_at > now() - make_interval(hours => m.cap_hours)) AS purpose_count,
          (SELECT count(*)::int FROM messages x WHERE x.recipient_id = m.recipient_id AND ${mayHaveReached('x')}
             AND x.claimed_at > now() - make_interval(hours => ${policy.frequencyCapCeiling.windowHours}::int)) AS total_count
        FROM m
      ),
      ranked AS (
        SELECT pre.*,
          CASE WHEN pre_decision = 'claim' THEN row_number() OVER (PARTITION BY recipient_id, purpose, pre_decision ORDER BY id) END AS purpose_rank,
          CASE WHEN pre_decision = 'claim' THEN row_number() OVER (PARTITION BY recipient_id, pre_decision ORDER BY id) END AS total_rank
        FROM pre
      ),
      decided AS (
        SELECT id, attempts,
          CASE
            WHEN pre_decision <> 'claim' THEN pre_decision
            WHEN purpose_count + purpose_rank > cap_max OR total_count + total_rank > ${policy.frequencyCapCeiling.max}::int
              THEN 'skip:frequency_cap'
            ELSE 'claim'
          END AS decision,
          CASE
            WHEN pre_decision = 'defer:quiet_hours' THEN consentcast_quiet_until(time_zone,
              COALESCE(quiet_start_minute, ${policy.quietHours.startMinute}::int),
              COALESCE(quiet_end_minute, ${policy.quietHours.endMinute}::int), now())
            WHEN pre_decision = 'defer:paused' THEN now() + make_interval(secs => ${settings.pausedRetrySeconds}::int)
          END AS until
        FROM ranked
      )
      UPDATE messages msg SET
        status = CASE WHEN d.decision = 'claim' THEN 'sending' WHEN d.decision LIKE 'skip:%' THEN 'skipped' ELSE 'queued' END,
        skip_reason = CASE WHEN d.decision LIKE 'skip:%' THEN substr(d.decision, 6) END,
        attempts = CASE WHEN d.decision = 'claim' THEN msg.attempts + 1 ELSE msg.attempts END,
        claimed_at = CASE WHEN d.decision = 'claim' THEN now() ELSE msg.claimed_at END,
        lease_expires_at = CASE WHEN d.decision = 'claim' THEN now() + make_interval(secs => ${settings.leaseSeconds}::int) END,
        not_before = CASE WHEN d.decision LIKE 'defer:%' THEN d.until ELSE msg.not_before END,
        finished_at = CASE WHEN d.decision LIKE 'skip:%' THEN now() ELSE msg.finished_at END
      FROM decided d
      WHERE msg.id = d.id
      RETURNING msg.id, d.decision, d.until, msg.attempts
    `.execute(trx);
    return rows;
  });
  const byId = new Map(decided.map((d) => [Number(d.id), d]));
  // Duplicate jobs of one message can meet in one batch: only the first gets the decision, the
  // others find the message already taken — or each copy would send.
  const answered = new Set<number>();
  return ids.map((id): ClaimOutcome => {
    const d = byId.get(id);
    if (!d || answered.has(id)) return { kind: 'not_queued' };
    answered.add(id);
    if (d.decision === 'claim') return { kind: 'claimed', attempt: d.attempts };
    if (d.decision.startsWith('skip:')) return { kind: 'skipped', reason: d.decision.slice(5) as SkipReason };
    return {
      kind: 'deferred',
      until: d.until ?? new Date(Date.now() + settings.pausedRetrySeconds * 1000),
      why: d.decision === 'defer:paused' ? 'paused' : 'quiet_hours',
    };
  });
}
