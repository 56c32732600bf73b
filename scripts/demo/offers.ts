import type { Actor } from '../../src/auth/actor.js';
import type { Db } from '../../src/db/database.js';
import type { Locale, Purpose } from '../../src/domain/vocabulary.js';
import { activateOffer, createOffer } from '../../src/offers/offers.js';

/** What one offer says, per locale: a headline and one sentence. */
type Copy = Readonly<Record<Locale, { readonly headline: string; readonly line: string }>>;

interface DemoOffer {
  readonly key: string;
  readonly purpose: Purpose;
  readonly priority: number;
  readonly partner?: string;
  /** Only for people interested in this (profiling: the offer is personalised, N9). */
  readonly interest?: string;
  readonly copy: Copy;
}

const GREETING: Readonly<Record<Locale, string>> = { lv: 'Sveiki', en: 'Hello', ru: 'Здравствуйте' };
const FALLBACK_NAME: Readonly<Record<Locale, string>> = { lv: 'klient', en: 'there', ru: 'клиент' };
const SEE: Readonly<Record<Locale, string>> = { lv: 'Skatīt', en: 'See the offer', ru: 'Смотреть' };
const STOP: Readonly<Record<Locale, string>> = {
  lv: 'Atteikties no piedāvājumiem',
  en: 'Unsubscribe',
  ru: 'Отписаться',
};

/** Offers for all four purposes (N3); the demo's campaign sends the service offers. */
export const DEMO_OFFERS: readonly DemoOffer[] = [
  {
    key: 'travel-cashback',
    purpose: 'service_offers',
    priority: 10,
    interest: 'travel',
    copy: {
      lv: { headline: '5 % atpakaļ par ceļojumiem', line: 'Maksā ar Klix par biļetēm un saņem 5 % atpakaļ.' },
      en: { headline: '5% back on travel', line: 'Pay for tickets with Klix and get 5% back.' },
      ru: { headline: '5% за путешествия', line: 'Платите Klix за билеты и получайте 5% обратно.' },
    },
  },
  {
    key: 'pay-later',
    purpose: 'service_offers',
    priority: 0,
    copy: {
      lv: { headline: 'Maksā vēlāk bez maksas', line: 'Sadali pirkumu trīs daļās bez procentiem.' },
      en: { headline: 'Pay later, free of charge', line: 'Split a purchase into three parts, no interest.' },
      ru: { headline: 'Платите позже бесплатно', line: 'Разделите покупку на три части без процентов.' },
    },
  },
  {
    key: 'partner-electronics',
    purpose: 'partner_offers',
    priority: 0,
    partner: 'Demo Electronics SIA',
    copy: {
      lv: { headline: '-15 % elektronikai', line: 'Partnera atlaide, maksājot ar Klix.' },
      en: { headline: '15% off electronics', line: "A partner's discount when you pay with Klix." },
      ru: { headline: '-15% на электронику', line: 'Скидка партнёра при оплате Klix.' },
    },
  },
  {
    key: 'summer-draw',
    purpose: 'contests',
    priority: 0,
    copy: {
      lv: { headline: 'Vasaras izloze', line: 'Katrs pirkums ar Klix ir dalība izlozē.' },
      en: { headline: 'Summer draw', line: 'Every Klix purchase enters the draw.' },
      ru: { headline: 'Летний розыгрыш', line: 'Каждая покупка с Klix — участие в розыгрыше.' },
    },
  },
  {
    key: 'rate-checkout',
    purpose: 'feedback',
    priority: 0,
    copy: {
      lv: { headline: 'Novērtē savu pirkumu', line: 'Pastāsti, kā tev veicās ar Klix.' },
      en: { headline: 'Rate your purchase', line: 'Tell us how paying with Klix went.' },
      ru: { headline: 'Оцените покупку', line: 'Расскажите, как прошла оплата Klix.' },
    },
  },
];

function contents(copy: Copy): Record<string, Record<string, Record<string, string>>> {
  const email: Record<string, Record<string, string>> = {};
  const sms: Record<string, Record<string, string>> = {};
  const push: Record<string, Record<string, string>> = {};
  for (const locale of ['lv', 'en', 'ru'] as const) {
    const { headline, line } = copy[locale];
    const hello = `${GREETING[locale]}, {{first_name|${FALLBACK_NAME[locale]}}}!`;
    email[locale] = {
      subject: headline,
      html: `<p>${hello}</p><p>${line}</p><p><a href="{{offer_url}}">${SEE[locale]}</a></p><p style="font-size:12px">{{controller_name}}, {{controller_address}} · <a href="{{unsubscribe_url}}">${STOP[locale]}</a></p>`,
      text: `${hello}\n${line}\n${SEE[locale]}: {{offer_url}}\n{{controller_name}}, {{controller_address}}. ${STOP[locale]}: {{unsubscribe_url}}`,
    };
    sms[locale] = { text: `Klix: ${headline}. {{offer_url}}` };
    push[locale] = { title: headline, body: `${hello} ${line}` };
  }
  return { email, sms, push };
}

/** Creates and activates the demo's offers through the offers module (validated, audited). */
export async function createDemoOffers(db: Db, actor: Actor): Promise<number> {
  for (const offer of DEMO_OFFERS) {
    await createOffer(
      db,
      {
        key: offer.key,
        name: offer.copy.en.headline,
        purpose: offer.purpose,
        priority: offer.priority,
        ...(offer.partner !== undefined ? { owner: 'partner', partner_name: offer.partner } : {}),
        ...(offer.interest !== undefined
          ? { eligibility: { interest: offer.interest }, personalised: true }
          : {}),
        resend_after_days: 0,
        contents: contents(offer.copy),
      },
      { actor },
    );
    await activateOffer(db, offer.key, { actor });
  }
  return DEMO_OFFERS.length;
}
