import type { Channel } from '../domain/vocabulary.js';

/**
 * The fields a template may name, and where (docs/offers.md). The set is closed: a template names a
 * field from here or it is refused when the offer is saved.
 *
 * Personal fields follow N7: e-mail and SMS sending use name and surname; push and in-app placement use
 * name, surname and client number. Contact data (e-mail, phone) only addresses a message, and the data
 * used to select people (personal code, birth date, profile attributes, N6) never appears in one.
 */

/** The parts of a content, per channel: e-mail subject/html/text, SMS text, push title/body. */
export const CONTENT_PARTS = {
  email: ['subject', 'html', 'text'],
  sms: ['text'],
  push: ['title', 'body'],
} as const satisfies Record<Channel, readonly string[]>;
export type ContentPart = (typeof CONTENT_PARTS)[Channel][number];

export const PERSONAL_FIELDS = ['first_name', 'last_name', 'client_number'] as const;
export type PersonalField = (typeof PERSONAL_FIELDS)[number];

/** Signed links the channel worker makes per message. */
export const LINK_FIELDS = ['offer_url', 'unsubscribe_url'] as const;
export type LinkField = (typeof LINK_FIELDS)[number];

/** The controller's identity from configuration (N2): public, the same in every message. */
export const CONTROLLER_FIELDS = [
  'controller_name',
  'controller_reg_no',
  'controller_address',
  'controller_phone',
  'controller_email',
  'dpo_email',
  'support_email',
] as const;
export type ControllerField = (typeof CONTROLLER_FIELDS)[number];

export type FieldName = PersonalField | LinkField | ControllerField;
export const FIELD_NAMES: readonly FieldName[] = [...PERSONAL_FIELDS, ...LINK_FIELDS, ...CONTROLLER_FIELDS];

/** The channels on which each personal field may appear (N7). */
const PERSONAL_CHANNELS: Record<PersonalField, readonly Channel[]> = {
  first_name: ['email', 'sms', 'push'],
  last_name: ['email', 'sms', 'push'],
  client_number: ['push'],
};

/** The parts where a link may appear: the bodies of e-mail and SMS. A push opens the app when tapped. */
const LINK_PARTS: readonly string[] = ['email/html', 'email/text', 'sms/text'];

/** Data the store holds that no template may name, with the reason given to the marketer. */
const NEVER: Record<string, string> = {
  email: 'is contact data: it addresses the message and is never shown in one (N7)',
  phone: 'is contact data: it addresses the message and is never shown in one (N7)',
  personal_code: 'is used only to select recipients (N6) and never appears in a message',
  birth_date: 'is used only to select recipients (N6) and never appears in a message',
  attributes: 'profile data is used only to select recipients and offers (N6, N9), never shown in a message',
  interests: 'profile data is used only to select recipients and offers (N6, N9), never shown in a message',
};

export function isPersonalField(name: FieldName): name is PersonalField {
  return (PERSONAL_FIELDS as readonly string[]).includes(name);
}

export function isLinkField(name: FieldName): name is LinkField {
  return (LINK_FIELDS as readonly string[]).includes(name);
}

export function isFieldName(name: string): name is FieldName {
  return (FIELD_NAMES as readonly string[]).includes(name);
}

/**
 * Whether `name` may appear in this part of this channel's content: the field, or the reason it may
 * not (unknown, never allowed, or not on this channel or part).
 */
export function checkField(
  name: string,
  channel: Channel,
  part: ContentPart,
): { ok: true; field: FieldName } | { ok: false; reason: string } {
  const root = name.split('.')[0] ?? name;
  const never = NEVER[root] ?? (root === 'attr' ? NEVER.attributes : undefined);
  if (never !== undefined) return { ok: false, reason: `"${name}" ${never}` };
  if (!isFieldName(name)) {
    return { ok: false, reason: `"${name}" is not a known field; known fields: ${FIELD_NAMES.join(', ')}` };
  }
  if (isPersonalField(name) && !PERSONAL_CHANNELS[name].includes(channel)) {
    return {
      ok: false,
      reason: `"${name}" may not be used in ${channel} messages: only push and in-app messages use the client number (N7)`,
    };
  }
  if (isLinkField(name) && !LINK_PARTS.includes(`${channel}/${part}`)) {
    return {
      ok: false,
      reason:
        channel === 'push'
          ? `"${name}" may not be used in push messages: a push carries no links, a tap opens the app`
          : `"${name}" may not be used in the ${part}: links belong in the message body`,
    };
  }
  return { ok: true, field: name };
}
