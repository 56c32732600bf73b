import type { RecipientFields } from '../recipients/recipient-input.js';
import type { ImportConsent, ImportDevice, ImportRow } from './import-row.js';

/**
 * Turns a row's parts into the text the staging tables take (staging.ts implements it). A batch
 * encodes rows as they are added, while the previous batch is being written, so that writing a
 * batch is only sending text; the encoded text is also far smaller than the row objects.
 */
export interface RowEncoder {
  person(clientNumber: string, fields: RecipientFields): string;
  device(clientNumber: string, line: number, device: ImportDevice): string;
  consent(clientNumber: string, consent: ImportConsent): string;
}

/**
 * Everything one batch writes about one client number. Rows of the same client number in one batch
 * are applied as if one after another: a later row's fields win, devices and consents add up. They
 * land (or are rejected) together.
 */
export interface PersonGroup {
  readonly clientNumber: string;
  readonly lines: number[];
  fields: RecipientFields;
  /** The person's staging text; undefined after a later row changed `fields` (encoded again when sent). */
  person: string | undefined;
  readonly devices: string[];
  readonly consents: string[];
}

/** The valid rows of one transaction, grouped by client number in file order. */
export class Batch {
  readonly groups = new Map<string, PersonGroup>();
  rows = 0;

  constructor(private readonly encoder: RowEncoder) {}

  add(row: ImportRow): void {
    this.rows += 1;
    const { clientNumber } = row;
    const devices = row.devices.map((device) => this.encoder.device(clientNumber, row.line, device));
    const consents = row.consents.map((consent) => this.encoder.consent(clientNumber, consent));
    const group = this.groups.get(clientNumber);
    if (group === undefined) {
      this.groups.set(clientNumber, {
        clientNumber,
        lines: [row.line],
        fields: row.fields,
        person: this.encoder.person(clientNumber, row.fields),
        devices,
        consents,
      });
      return;
    }
    group.lines.push(row.line);
    group.fields = { ...group.fields, ...row.fields };
    group.person = undefined;
    group.devices.push(...devices);
    group.consents.push(...consents);
  }

  /** The person's staging text, encoding it again if a later row changed the fields. */
  personText(group: PersonGroup): string {
    group.person ??= this.encoder.person(group.clientNumber, group.fields);
    return group.person;
  }
}
