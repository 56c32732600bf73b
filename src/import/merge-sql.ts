import { SUPERSEDES_ON_CONFLICT } from '../consent/consent.sql.js';
import { PERSON_COLUMNS } from './staging.js';

/**
 * The set-based statements that move one staged batch into the real tables. They are constant text
 * (no input is ever spliced in; values travel by COPY or as parameters), written as SQL rather than
 * Kysely because they run on the import's own pg client, next to its COPY streams.
 *
 * The consent part is the ledger's rule (src/consent/ledger.ts, `supersedes` in decision.ts) done
 * for many events at once: of one batch's new events per person x purpose x channel, the one that
 * takes effect last wins (`effective_at`: the earlier of when it occurred and when it was recorded),
 * a withdrawal beating a grant at the same instant; it replaces the current state only when it takes
 * effect later than that state (or ties it as a withdrawal against a grant).
 */

/**
 * Locks the people of the batch who exist, in id order, so that an erasure (which locks the person
 * it erases) either finishes before the batch looks for tombstones or waits for the batch to commit.
 */
export const LOCK_PEOPLE_SQL = `
  SELECT count(*) FROM (
    SELECT r.id FROM recipients r
    JOIN pg_temp.import_people s ON s.client_number = r.client_number
    ORDER BY r.id
    FOR UPDATE OF r
  ) locked
`;

/** Client numbers of staged people who were erased (N14): reported, never re-created. */
export const FIND_ERASED_SQL = `
  SELECT p.client_number
  FROM pg_temp.import_people p
  JOIN erasure_tombstones t ON t.client_number_hash = p.client_number_hash
`;

export const DROP_STAGED_SQL = `
  WITH a AS (DELETE FROM pg_temp.import_people WHERE client_number = ANY ($1::text[])),
       b AS (DELETE FROM pg_temp.import_devices WHERE client_number = ANY ($1::text[]))
  DELETE FROM pg_temp.import_consents WHERE client_number = ANY ($1::text[])
`;

const chosen = (column: string, bit: number) =>
  `CASE WHEN s.given & ${1 << bit} <> 0 THEN s.${column} ELSE r.${column} END`;
const COLUMNS = PERSON_COLUMNS.map((c) => c.column);
const DEFAULTS: Readonly<Record<string, string>> = {
  locale: "coalesce(locale, 'lv')",
  time_zone: "coalesce(time_zone, 'Europe/Riga')",
  attributes: "coalesce(attributes, '{}'::jsonb)",
};

/**
 * New people are inserted; existing ones get the fields their rows gave, and are written only when
 * something changes (a re-run leaves them, and their updated_at, alone). The UPDATE runs on the
 * statement's snapshot, so it never sees the rows the INSERT just made. Fields not given to a new
 * person take the table's defaults (migrations/0001: locale lv, time zone Europe/Riga, no attributes).
 * New people are marked in the staging table with their id: they have no consent history to compare.
 */
export const UPSERT_PEOPLE_SQL = `
  WITH created AS (
    INSERT INTO recipients (client_number, ${COLUMNS.join(', ')})
    SELECT client_number, ${COLUMNS.map((c) => DEFAULTS[c] ?? c).join(', ')}
    FROM pg_temp.import_people
    ORDER BY client_number
    ON CONFLICT (client_number) DO NOTHING
    RETURNING id, client_number
  ), changed AS (
    UPDATE recipients r
    SET ${PERSON_COLUMNS.map((c) => `${c.column} = ${chosen(c.column, c.bit)}`).join(',\n        ')},
        updated_at = now()
    FROM pg_temp.import_people s
    WHERE r.client_number = s.client_number
      AND (${PERSON_COLUMNS.map((c) => chosen(c.column, c.bit)).join(', ')})
          IS DISTINCT FROM (${COLUMNS.map((c) => `r.${c}`).join(', ')})
    RETURNING 1
  ), marked AS (
    UPDATE pg_temp.import_people s SET recipient_id = c.id, created = true
    FROM created c WHERE s.client_number = c.client_number
    RETURNING 1
  )
  SELECT (SELECT count(*) FROM marked)::int AS created, (SELECT count(*) FROM changed)::int AS updated
`;

/** The ids of the people who existed before this batch. */
export const LINK_PEOPLE_SQL = `
  UPDATE pg_temp.import_people s SET recipient_id = r.id
  FROM recipients r
  WHERE s.recipient_id IS NULL AND r.client_number = s.client_number
`;

/**
 * A token seen before moves to the person the file names (as the app's registration does); its
 * validity is left alone: an import is no evidence that a token FCM refused works again.
 */
export const UPSERT_DEVICES_SQL = `
  WITH chosen AS (
    SELECT DISTINCT ON (d.token) p.recipient_id, d.token, d.platform
    FROM pg_temp.import_devices d
    JOIN pg_temp.import_people p ON p.client_number = d.client_number
    ORDER BY d.token, d.line DESC
  ), written AS (
    INSERT INTO devices (recipient_id, token, platform)
    SELECT recipient_id, token, platform FROM chosen
    ON CONFLICT (token) DO UPDATE SET recipient_id = excluded.recipient_id, platform = excluded.platform
    WHERE devices.recipient_id <> excluded.recipient_id OR devices.platform <> excluded.platform
    RETURNING (xmax = 0) AS inserted
  )
  SELECT (count(*) FILTER (WHERE inserted))::int AS added, (count(*) FILTER (WHERE NOT inserted))::int AS moved
  FROM written
`;

/**
 * Appends the batch's consent events and folds them into the current state. $1 actor hash, $2 the
 * import's id (request_id of every event: the audit entry names the same id).
 *
 * An event an import already recorded (same person, purpose, channel, action, instant and notice) is
 * not appended again, in this batch or any earlier import: re-running a file adds no evidence twice.
 */
export const RECORD_CONSENTS_SQL = `
  WITH candidates AS (
    SELECT DISTINCT p.recipient_id, p.created, c.purpose, c.channel, c.action, c.occurred_at, c.notice_version,
           c.notice_sha256
    FROM pg_temp.import_consents c
    JOIN pg_temp.import_people p ON p.client_number = c.client_number
  ), fresh AS (
    SELECT k.* FROM candidates k
    WHERE k.created OR NOT EXISTS (
      SELECT 1 FROM consent_events e
      WHERE e.recipient_id = k.recipient_id AND e.purpose = k.purpose AND e.channel = k.channel
        AND e.occurred_at = k.occurred_at AND e.action = k.action AND e.source = 'import'
        AND e.notice_version IS NOT DISTINCT FROM k.notice_version
    )
  ), recorded AS (
    INSERT INTO consent_events (recipient_id, purpose, channel, action, source, actor_hash, notice_version,
                                notice_sha256, request_id, reason, occurred_at)
    SELECT recipient_id, purpose, channel, action, 'import', $1, notice_version, notice_sha256, $2,
           CASE WHEN action = 'grant' THEN NULL ELSE 'import' END, occurred_at
    FROM fresh
    ORDER BY recipient_id, purpose, channel, occurred_at
    RETURNING id, recipient_id, purpose, channel, action, occurred_at, recorded_at, effective_at, notice_version
  ), latest AS (
    SELECT DISTINCT ON (recipient_id, purpose, channel) *
    FROM recorded
    ORDER BY recipient_id, purpose, channel, effective_at DESC, (action = 'grant'), id DESC
  ), applied AS (
    INSERT INTO consents AS c (recipient_id, purpose, channel, status, source, occurred_at, recorded_at, event_id,
                               notice_version)
    SELECT recipient_id, purpose, channel,
           CASE action WHEN 'grant' THEN 'granted' WHEN 'withdraw' THEN 'withdrawn' ELSE 'lapsed' END,
           'import', occurred_at, recorded_at, id, notice_version
    FROM latest
    ON CONFLICT (recipient_id, purpose, channel) DO UPDATE
    SET status = excluded.status, source = excluded.source, occurred_at = excluded.occurred_at,
        recorded_at = excluded.recorded_at, event_id = excluded.event_id, notice_version = excluded.notice_version,
        updated_at = now()
    WHERE ${SUPERSEDES_ON_CONFLICT}
    RETURNING 1
  )
  SELECT (SELECT count(*) FROM pg_temp.import_consents)::int AS staged,
         (SELECT count(*) FROM recorded)::int AS recorded,
         (SELECT count(*) FROM applied)::int AS applied
`;
