import type { ControllerIdentity } from '../config/config.js';
import type { Channel, Purpose } from '../domain/vocabulary.js';

/** The languages of the unsubscribe page. Russian-speaking people get the English page. */
export type PageLang = 'lv' | 'en';

export function pageLang(override: string | undefined, locale: string | undefined): PageLang {
  if (override === 'lv' || override === 'en') return override;
  return locale === 'lv' ? 'lv' : 'en';
}

const PURPOSE_TEXT: Record<PageLang, Record<Purpose, string>> = {
  lv: {
    service_offers: 'Klix pakalpojumi un ar tiem saistīti piedāvājumi',
    partner_offers: 'partneru īpašie piedāvājumi',
    contests: 'uzaicinājumi uz konkursiem, izlozēm, loterijām un akcijām',
    feedback: 'uzaicinājumi novērtēt lietošanas un iepirkšanās pieredzi',
  },
  en: {
    service_offers: 'Klix services and related offers',
    partner_offers: "partners' special offers",
    contests: 'invitations to contests, draws, lotteries and promotions',
    feedback: 'invitations to rate your usage and shopping experience',
  },
};

const CHANNEL_TEXT: Record<PageLang, Record<Channel, string>> = {
  lv: { email: 'e-pasts', sms: 'SMS', push: 'mobilās lietotnes paziņojumi' },
  en: { email: 'e-mail', sms: 'SMS', push: 'mobile app notifications' },
};

const TEXT = {
  lv: {
    title: 'Atteikšanās no paziņojumiem',
    intro: 'Šī ziņa tika nosūtīta, jo esat devis piekrišanu saņemt:',
    channel: 'Kanāls',
    this: 'Atteikties no šāda veida ziņām šajā kanālā',
    all: 'Atteikties no visām ziņām visos kanālos',
    stale: 'Saite ir veca. Lūdzu, apstipriniet atteikšanos, nospiežot pogu.',
    doneThis: 'Jūs esat atteicies no šāda veida ziņām šajā kanālā.',
    doneAll: 'Jūs esat atteicies no visām paziņojumu un piedāvājumu ziņām.',
    notDone: 'Jūsu atteikšanos šobrīd neizdevās reģistrēt. Lūdzu, mēģiniet vēlreiz pēc dažām minūtēm.',
    bad: 'Saite nav derīga. Nekas netika mainīts.',
    gone: 'Šī saite vairs nav saistīta ar nevienu ziņu. Nekas netika mainīts.',
    controller: 'Pārzinis',
    regNo: 'reģ. nr.',
    dpo: 'Datu aizsardzības speciālists',
    questions: 'Jautājumi',
  },
  en: {
    title: 'Unsubscribe from notifications',
    intro: 'This message was sent because you consented to receive:',
    channel: 'Channel',
    this: 'Unsubscribe from this kind of message on this channel',
    all: 'Unsubscribe from everything, on every channel',
    stale: 'This link is old. Please confirm by pressing a button.',
    doneThis: 'You have unsubscribed from this kind of message on this channel.',
    doneAll: 'You have unsubscribed from all notifications and offers.',
    notDone: 'Your unsubscribe could not be registered just now. Please try again in a few minutes.',
    bad: 'This link is not valid. Nothing was changed.',
    gone: 'This link no longer refers to a message. Nothing was changed.',
    controller: 'Controller',
    regNo: 'reg. no.',
    dpo: 'Data protection officer',
    questions: 'Questions',
  },
} as const;

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function layout(lang: PageLang, controller: ControllerIdentity, body: string): string {
  const t = TEXT[lang];
  const c = controller;
  return `<!doctype html>
<html lang="${lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex"><title>${t.title}</title></head>
<body><main><h1>${t.title}</h1>
${body}
</main><footer><p>${t.controller}: ${escapeHtml(c.name)}, ${t.regNo} ${escapeHtml(c.registrationNumber)}, ${escapeHtml(c.address)}, ${escapeHtml(c.phone)}, <a href="mailto:${escapeHtml(c.email)}">${escapeHtml(c.email)}</a>.
${t.dpo}: <a href="mailto:${escapeHtml(c.dpoEmail)}">${escapeHtml(c.dpoEmail)}</a>.
${t.questions}: <a href="mailto:${escapeHtml(c.supportEmail)}">${escapeHtml(c.supportEmail)}</a>.</p></footer></body></html>`;
}

export function confirmPage(input: {
  lang: PageLang;
  controller: ControllerIdentity;
  action: string;
  purpose: Purpose;
  channel: Channel;
  stale: boolean;
}): string {
  const t = TEXT[input.lang];
  const action = escapeHtml(input.action);
  return layout(
    input.lang,
    input.controller,
    `${input.stale ? `<p>${t.stale}</p>` : ''}
<p>${t.intro} <strong>${PURPOSE_TEXT[input.lang][input.purpose]}</strong>. ${t.channel}: <strong>${CHANNEL_TEXT[input.lang][input.channel]}</strong>.</p>
<form method="post" action="${action}"><input type="hidden" name="scope" value="this"><input type="hidden" name="lang" value="${input.lang}"><button type="submit">${t.this}</button></form>
<form method="post" action="${action}"><input type="hidden" name="scope" value="all"><input type="hidden" name="lang" value="${input.lang}"><button type="submit">${t.all}</button></form>`,
  );
}

export function donePage(lang: PageLang, controller: ControllerIdentity, scope: 'this' | 'all'): string {
  const t = TEXT[lang];
  return layout(lang, controller, `<p>${scope === 'all' ? t.doneAll : t.doneThis}</p>`);
}

/** The withdrawal was recorded, but the consent state read back still shows a grant in force. */
export function notDonePage(lang: PageLang, controller: ControllerIdentity): string {
  return layout(lang, controller, `<p>${TEXT[lang].notDone}</p>`);
}

export function invalidLinkPage(lang: PageLang, controller: ControllerIdentity): string {
  return layout(lang, controller, `<p>${TEXT[lang].bad}</p>`);
}

export function goneLinkPage(lang: PageLang, controller: ControllerIdentity): string {
  return layout(lang, controller, `<p>${TEXT[lang].gone}</p>`);
}
