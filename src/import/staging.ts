import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { keyedHash } from '../crypto/pseudonym.js';
import type { RecipientFields } from '../recipients/recipient-input.js';
import { recipientColumns } from '../recipients/recipients.repository.js';
import type { Batch, PersonGroup, RowEncoder } from './batch.js';
import { type CopyValue, copyLine } from './copy-text.js';

/**
 * The staging tables of an import: TEMP (private to the import's connection, never WAL-logged) and
 * emptied by every COMMIT or ROLLBACK, so a batch always starts from empty tables. The application
 * role creates them through PostgreSQL's default TEMPORARY privilege on the database.
 */

/** Person fields in the order of the bits of `given`: a bit set means the row gave the field. */
export const PERSON_FIELDS = [
  'first_name',
  'last_name',
  'email',
  'phone',
  'locale',
  'time_zone',
  'birth_date',
  'personal_code',
  'attributes',
] as const satisfies readonly (keyof RecipientFields)[];

/**
 * The recipients columns an import writes, each with the bit of the field it comes from: the keyed
 * hashes of e-mail and phone travel with the address and number (`recipientColumns` makes them).
 */
export const PERSON_COLUMNS: readonly { readonly column: string; readonly bit: number }[] = [
  ...PERSON_FIELDS.map((column, bit) => ({ column, bit })),
  { column: 'email_hash', bit: PERSON_FIELDS.indexOf('email') },
  { column: 'phone_hash', bit: PERSON_FIELDS.indexOf('phone') },
];

/** Dropped first: a pooled connection may still hold them from an import that ended abruptly. */
export const CREATE_STAGING_SQL = `
  DROP TABLE IF EXISTS pg_temp.import_people, pg_temp.import_devices, pg_temp.import_consents;
  CREATE TEMP TABLE import_people (
    client_number text NOT NULL,
    client_number_hash text NOT NULL,
    given integer NOT NULL,
    first_name text,
    last_name text,
    email text,
    phone text,
    locale text,
    time_zone text,
    birth_date date,
    personal_code text,
    attributes jsonb,
    email_hash text,
    phone_hash text,
    recipient_id bigint,
    created boolean NOT NULL DEFAULT false
  ) ON COMMIT DELETE ROWS;
  CREATE TEMP TABLE import_devices (
    client_number text NOT NULL,
    line integer NOT NULL,
    token text NOT NULL,
    platform text NOT NULL
  ) ON COMMIT DELETE ROWS;
  CREATE TEMP TABLE import_consents (
    client_number text NOT NULL,
    purpose text NOT NULL,
    channel text NOT NULL,
    action text NOT NULL,
    occurred_at timestamptz NOT NULL,
    notice_version text,
    notice_sha256 text
  ) ON COMMIT DELETE ROWS;
`;

export const DROP_STAGING_SQL =
  'DROP TABLE IF EXISTS pg_temp.import_people, pg_temp.import_devices, pg_temp.import_consents';

/**
 * Temporary tables get no statistics from autovacuum: without these the planner guesses their size
 * and may scan all of recipients or consent_events for every batch instead of probing their indexes.
 * Only the join columns: statistics of the other columns would cost more than the batch's joins.
 */
export const ANALYZE_STAGING_SQL =
  'ANALYZE pg_temp.import_people (client_number); ANALYZE pg_temp.import_consents (client_number)';

export const EMPTY_STAGING_SQL =
  'TRUNCATE pg_temp.import_people, pg_temp.import_devices, pg_temp.import_consents';

const COPY_PEOPLE = `COPY pg_temp.import_people (client_number, client_number_hash, given, ${PERSON_COLUMNS.map((c) => c.column).join(', ')}) FROM STDIN`;
const COPY_DEVICES = 'COPY pg_temp.import_devices (client_number, line, token, platform) FROM STDIN';
const COPY_CONSENTS =
  'COPY pg_temp.import_consents (client_number, purpose, channel, action, occurred_at, notice_version, notice_sha256) FROM STDIN';

function givenMask(fields: RecipientFields): number {
  let given = 0;
  PERSON_FIELDS.forEach((name, bit) => {
    if (fields[name] !== undefined) given |= 1 << bit;
  });
  return given;
}

/** Encodes rows as COPY text for the staging tables, with the keyed hashes a person's row needs. */
export function copyEncoder(pseudonymSecret: string): RowEncoder {
  return {
    person(clientNumber, fields) {
      const columns: Record<string, unknown> = recipientColumns(fields, pseudonymSecret);
      const values: CopyValue[] = [
        clientNumber,
        keyedHash(pseudonymSecret, 'client_number', clientNumber),
        givenMask(fields),
      ];
      for (const { column } of PERSON_COLUMNS) {
        const value = columns[column];
        values.push(typeof value === 'string' ? value : null);
      }
      return copyLine(values);
    },
    // The line orders devices: a token named by several rows goes to the last of them.
    device: (clientNumber, line, device) => copyLine([clientNumber, line, device.token, device.platform]),
    consent: (clientNumber, c) =>
      copyLine([clientNumber, c.purpose, c.channel, c.action, c.occurredAt, c.noticeVersion, c.noticeSha256]),
  };
}

/** Sends rows in slices of 500, each one flat string: no single string grows with the batch. */
async function copyInto(client: pg.PoolClient, sql: string, rows: readonly string[]): Promise<void> {
  if (rows.length === 0) return;
  const slices = function* () {
    for (let i = 0; i < rows.length; i += 500) yield rows.slice(i, i + 500).join('');
  };
  await pipeline(Readable.from(slices()), client.query(copyFrom(sql)));
}

/** COPYs the groups' encoded rows into the staging tables. */
export async function stageGroups(
  client: pg.PoolClient,
  batch: Batch,
  groups: readonly PersonGroup[],
): Promise<void> {
  await copyInto(
    client,
    COPY_PEOPLE,
    groups.map((g) => batch.personText(g)),
  );
  await copyInto(
    client,
    COPY_DEVICES,
    groups.flatMap((g) => g.devices),
  );
  await copyInto(
    client,
    COPY_CONSENTS,
    groups.flatMap((g) => g.consents),
  );
}
