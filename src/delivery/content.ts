import type { Config } from '../config/config.js';
import type { Db } from '../db/database.js';
import type { Channel, Locale } from '../domain/vocabulary.js';
import { signLink } from '../links/tokens.js';
import type { OfferContents } from '../offers/offer.js';
import { toContents } from '../offers/offers.repository.js';
import { renderContent } from '../offers/render-content.js';
import type { TemplateValues } from '../offers/template.js';
import type { SendFields } from './claim.js';

/**
 * What a channel worker sends, built at send time from only the fields that channel needs (N7):
 * e-mail and SMS use name, surname and the address or number; push uses name, surname, client
 * number and the device tokens. Nothing else about the person is loaded.
 */
export type ToSend = { readonly messageId: number } & (
  | {
      readonly channel: 'email';
      readonly to: string;
      readonly subject: string;
      readonly html: string;
      readonly text: string;
      readonly headers: Readonly<Record<string, string>>;
    }
  | {
      readonly channel: 'sms';
      readonly to: string;
      readonly body: string;
      readonly statusCallbackUrl: string;
    }
  | {
      readonly channel: 'push';
      readonly tokens: readonly string[];
      readonly title: string;
      readonly body: string;
      readonly data: Readonly<Record<string, string>>;
    }
);

export type Prepared =
  | { ok: true; message: ToSend }
  | { ok: false; reason: 'no_contact' | 'no_content' | 'bad_template' };

const OFFER_CACHE_MS = 30_000;

/**
 * Renders claimed messages from the fields the claim read for them (N7) and their offer's content,
 * cached per offer for half a minute.
 */
export function createContentRenderer(db: Db, config: Config) {
  // N2's footer is the same in every e-mail: built once per renderer, not per message.
  const footer = { html: footerHtml(config), text: footerText(config) };
  const offers = new Map<
    number,
    { at: number; offer: { contents: OfferContents; fallbackLocale: Locale } }
  >();

  async function offersFor(ids: readonly number[]) {
    const now = Date.now();
    const missing = [...new Set(ids)].filter((id) => (offers.get(id)?.at ?? 0) + OFFER_CACHE_MS < now);
    if (missing.length > 0) {
      const heads = await db
        .selectFrom('offers')
        .select(['id', 'fallback_locale'])
        .where('id', 'in', missing)
        .execute();
      const rows = await db
        .selectFrom('offer_contents')
        .selectAll()
        .where('offer_id', 'in', missing)
        .execute();
      for (const h of heads) {
        offers.set(h.id, {
          at: now,
          offer: {
            contents: toContents(rows.filter((r) => r.offer_id === h.id)),
            fallbackLocale: h.fallback_locale,
          },
        });
      }
    }
    return (id: number) => offers.get(id)?.offer;
  }

  /** Renders the given claimed messages of one channel (batched like the claim). */
  return async function prepare(channel: Channel, rows: readonly SendFields[]): Promise<Prepared[]> {
    const offerOf = await offersFor(rows.map((r) => r.offerId));
    const base = config.http.publicBaseUrl;
    const c = config.controller;
    return rows.map((row): Prepared => {
      const id = row.id;
      const offer = offerOf(row.offerId);
      if (!offer) return { ok: false, reason: 'no_content' };
      const iat = Math.floor(Date.now() / 1000);
      const unsubscribe = `${base}/u/${signLink(config.signing, { kind: 'unsubscribe', messageId: id, iat })}`;
      const values: TemplateValues = {
        first_name: row.firstName,
        last_name: row.lastName,
        client_number: row.clientNumber,
        unsubscribe_url: unsubscribe,
        offer_url: `${base}/c/${signLink(config.signing, { kind: 'click', messageId: id, iat })}`,
        controller_name: c.name,
        controller_reg_no: c.registrationNumber,
        controller_address: c.address,
        controller_phone: c.phone,
        controller_email: c.email,
        dpo_email: c.dpoEmail,
        support_email: c.supportEmail,
      };
      if (channel === 'email') {
        const r = renderContent(offer, 'email', row.locale, values);
        if (!r.ok) return notRendered(r.reason);
        if (!row.address) return { ok: false, reason: 'no_contact' };
        return {
          ok: true,
          message: {
            messageId: id,
            channel: 'email',
            to: row.address,
            subject: r.rendered.subject,
            html: `${r.rendered.html}${footer.html}`,
            text: `${r.rendered.text}\n\n${footer.text}`,
            headers: {
              // RFC 8058 one-click unsubscribe: mail clients POST to it without a page in between.
              'List-Unsubscribe': `<${unsubscribe}>`,
              'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
            },
          },
        };
      }
      if (channel === 'sms') {
        const r = renderContent(offer, 'sms', row.locale, values);
        if (!r.ok) return notRendered(r.reason);
        if (!row.address) return { ok: false, reason: 'no_contact' };
        return {
          ok: true,
          message: {
            messageId: id,
            channel: 'sms',
            to: row.address,
            // the provider appends the opt-out instruction (SMS_OPT_OUT_TEXT)
            body: r.rendered.text,
            statusCallbackUrl: `${base}/webhooks/twilio/status?m=${id}`,
          },
        };
      }
      const r = renderContent(offer, 'push', row.locale, values);
      if (!r.ok) return notRendered(r.reason);
      if (!row.tokens || row.tokens.length === 0) return { ok: false, reason: 'no_contact' };
      return {
        ok: true,
        message: {
          messageId: id,
          channel: 'push',
          tokens: [...row.tokens],
          title: r.rendered.title,
          body: r.rendered.body,
          data: { messageId: String(id) },
        },
      };
    });
  };
}

/** N2: the controller's identity and contacts in every e-mail. */
function footerText(config: Config): string {
  const c = config.controller;
  return `${c.name}, reg. Nr. ${c.registrationNumber}, ${c.address}, ${c.phone}, ${c.email}. Datu aizsardzības speciālists: ${c.dpoEmail}. Jautājumi: ${c.supportEmail}.`;
}

function footerHtml(config: Config): string {
  const esc = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
  return `<hr><p style="font-size:12px;color:#666">${esc(footerText(config))}</p>`;
}

function notRendered(reason: string): Prepared {
  return { ok: false, reason: reason === 'no_content' ? 'no_content' : 'bad_template' };
}
