import type { Channel } from '../domain/vocabulary.js';
import type { FieldProblem } from '../errors/validation-error.js';
import type { ContentOf } from './offer.js';
import { type ParsedTemplate, parseTemplate } from './template.js';
import { CONTENT_PARTS, type ContentPart } from './template-fields.js';

/** Every part of one content, parsed: what the offer is checked against at save and rendered from at send. */
export type ParsedContent<C extends Channel> = {
  readonly [P in keyof ContentOf[C]]: ParsedTemplate;
};

export type ContentCheck<C extends Channel> =
  | { ok: true; parts: ParsedContent<C> }
  | { ok: false; problems: FieldProblem[] };

/** Parses each part of a content; problems are named `<path>/<part>`, e.g. `contents/email/lv/html`. */
export function parseContent<C extends Channel>(
  channel: C,
  content: ContentOf[C],
  path: string,
): ContentCheck<C> {
  const problems: FieldProblem[] = [];
  const parts: Partial<Record<ContentPart, ParsedTemplate>> = {};
  const source = content as unknown as Record<ContentPart, string>;
  for (const part of CONTENT_PARTS[channel]) {
    const check = parseTemplate(source[part], { channel, part, path: `${path}/${part}` });
    if (check.ok) parts[part] = check.template;
    else problems.push(...check.problems);
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, parts: parts as ParsedContent<C> };
}
