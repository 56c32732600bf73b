import type { Channel, Purpose } from '../domain/vocabulary.js';
import type { Platform } from '../recipients/devices.repository.js';
import type { RecipientFields } from '../recipients/recipient-input.js';

/** The two file formats an import reads (docs/import.md). */
export const IMPORT_FORMATS = ['ndjson', 'csv'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

/**
 * One row as read from the file, before validation. CSV rows are mapped to the NDJSON shape, so one
 * validator serves both; `fieldName` turns a path of that shape back into the file's own name for it
 * (a CSV column), so that errors name what the operator sees.
 */
export interface SourceRecord {
  /** 1-based line of the file where the row starts. */
  readonly line: number;
  readonly value: unknown;
  readonly fieldName?: (path: string) => string;
}

/** A row that could not even be read (not JSON, a broken CSV record): reported, never imported. */
export interface UnreadableRecord {
  readonly line: number;
  readonly unreadable: string;
}

export type SourceItem = SourceRecord | UnreadableRecord;

export function isUnreadable(item: SourceItem): item is UnreadableRecord {
  return 'unreadable' in item;
}

/**
 * Why a row was rejected: its line, the field (a name, never a value; null for the row as a whole)
 * and what is wrong. Safe to log and to print.
 */
export interface RowProblem {
  readonly line: number;
  readonly field: string | null;
  readonly message: string;
}

export type ImportAction = 'grant' | 'withdraw';

export interface ImportConsent {
  readonly purpose: Purpose;
  readonly channel: Channel;
  readonly action: ImportAction;
  /** ISO 8601 with a zone, as given (PostgreSQL keeps microseconds that a JavaScript Date would drop). */
  readonly occurredAt: string;
  /** The notice shown, for grants; null for withdrawals (as the ledger records them). */
  readonly noticeVersion: string | null;
  /** SHA-256 of that notice's text, which the ledger's trigger holds the event to. */
  readonly noticeSha256: string | null;
}

export interface ImportDevice {
  readonly token: string;
  readonly platform: Platform;
}

/** A valid row: everything needed to write the person, their devices and consents together. */
export interface ImportRow {
  readonly line: number;
  readonly clientNumber: string;
  readonly fields: RecipientFields;
  readonly devices: readonly ImportDevice[];
  readonly consents: readonly ImportConsent[];
}
