import type { Locale } from '../domain/vocabulary.js';
import type { FieldProblem } from '../errors/validation-error.js';
import type { OfferContents } from './offer.js';
import { estimateSms, SEGMENT_WARNING_THRESHOLD, type SmsEstimate } from './sms-encoding.js';
import { parseTemplate } from './template.js';

export interface SmsReport {
  /** Per locale of the offer's SMS content. */
  readonly sms: Partial<Record<Locale, SmsEstimate>>;
  /** Texts that may cost more than SEGMENT_WARNING_THRESHOLD segments; saving is not refused. */
  readonly warnings: readonly FieldProblem[];
}

/** The SMS encoding and segments of each SMS text, shown whenever an offer is saved or read. */
export function smsReport(contents: OfferContents): SmsReport {
  const sms: Partial<Record<Locale, SmsEstimate>> = {};
  const warnings: FieldProblem[] = [];
  for (const [locale, content] of Object.entries(contents.sms ?? {}) as [Locale, { text: string }][]) {
    const path = `contents/sms/${locale}/text`;
    const parsed = parseTemplate(content.text, { channel: 'sms', part: 'text', path });
    if (!parsed.ok) continue; // stored content was checked on save; nothing to estimate otherwise
    const estimate = estimateSms(parsed.template);
    sms[locale] = estimate;
    const { asWritten, worstCase } = estimate;
    if (asWritten.segments > SEGMENT_WARNING_THRESHOLD) {
      warnings.push({
        field: path,
        message: `needs up to ${asWritten.segments} SMS segments (${asWritten.encoding}); each is charged`,
      });
    } else if (worstCase.segments > SEGMENT_WARNING_THRESHOLD) {
      warnings.push({
        field: path,
        message: `needs up to ${worstCase.segments} SMS segments when a name has a letter outside GSM-7 (e.g. ā, š, Cyrillic), which makes the message UCS-2`,
      });
    }
  }
  return { sms, warnings };
}
