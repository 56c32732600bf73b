import type { Channel, Locale } from '../domain/vocabulary.js';
import type { FieldProblem } from '../errors/validation-error.js';
import { type ContentCheck, parseContent } from './content-templates.js';
import { type ContentOf, chooseContent, type OfferDefinition } from './offer.js';
import { type ParsedTemplate, renderTemplate, type TemplateValues } from './template.js';
import type { ContentPart, FieldName } from './template-fields.js';

/** Every part of a content, rendered for one person. */
export type RenderedContent<C extends Channel> = { readonly [P in keyof ContentOf[C]]: string };

export type RenderOutcome<C extends Channel> =
  | { ok: true; locale: Locale; rendered: RenderedContent<C> }
  | { ok: false; reason: 'no_content' }
  | { ok: false; reason: 'invalid_template'; problems: readonly FieldProblem[] }
  | { ok: false; reason: 'missing_values'; missing: readonly FieldName[] };

/**
 * Parsing a content (templates and the HTML safety check) is the larger part of rendering, and a
 * campaign renders one content for thousands of people: the parse is kept per content object, which
 * the caller holds unchanged for as long as it caches the offer (contents are never mutated).
 */
const parsedContents = new WeakMap<object, ContentCheck<Channel>>();

function parseOnce<C extends Channel>(channel: C, content: ContentOf[C], path: string): ContentCheck<C> {
  const known = parsedContents.get(content);
  if (known !== undefined) return known as ContentCheck<C>;
  const parsed = parseContent(channel, content, path);
  parsedContents.set(content, parsed as ContentCheck<Channel>);
  return parsed;
}

/**
 * What a channel worker sends: the content in the person's locale (else the offer's fallback), each
 * part rendered with the values the worker loaded for this channel (N7). HTML escaping follows the
 * part: the e-mail's HTML is escaped, every other part is plain text.
 */
export function renderContent<C extends Channel>(
  offer: Pick<OfferDefinition, 'contents' | 'fallbackLocale'>,
  channel: C,
  personLocale: Locale | null,
  values: TemplateValues,
): RenderOutcome<C> {
  const chosen = chooseContent(offer, channel, personLocale);
  if (chosen === undefined) return { ok: false, reason: 'no_content' };
  const parsed = parseOnce(channel, chosen.content, `contents/${channel}/${chosen.locale}`);
  if (!parsed.ok) return { ok: false, reason: 'invalid_template', problems: parsed.problems };
  const rendered: Partial<Record<ContentPart, string>> = {};
  const missing = new Set<FieldName>();
  for (const [part, template] of Object.entries(parsed.parts) as [ContentPart, ParsedTemplate][]) {
    const result = renderTemplate(template, values);
    if (result.ok) rendered[part] = result.text;
    else for (const m of result.missing) missing.add(m);
  }
  if (missing.size > 0) return { ok: false, reason: 'missing_values', missing: [...missing] };
  return { ok: true, locale: chosen.locale, rendered: rendered as RenderedContent<C> };
}
