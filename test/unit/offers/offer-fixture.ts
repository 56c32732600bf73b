/** A valid offer as the API receives it, in Latvian and English; tests override what they need. */

export const EMAIL_LV = {
  subject: 'Jūsu Klīx piedāvājums, {{first_name|klient}}',
  html:
    '<p>Sveiki, {{first_name|klient}}!</p>\n' +
    '<p><a href="{{offer_url}}">Skatīt piedāvājumu</a></p>\n' +
    '<p style="font-size:12px"><a href="{{unsubscribe_url}}">Atteikties</a> · {{controller_name}}</p>',
  text: 'Sveiki, {{first_name|klient}}!\nSkatīt: {{offer_url}}\nAtteikties: {{unsubscribe_url}}',
};

export const EMAIL_EN = {
  subject: 'Your Klīx offer, {{first_name|there}}',
  html:
    '<p>Hello {{first_name|there}},</p>\n' +
    '<p><a href="{{offer_url}}">See the offer</a></p>\n' +
    '<p><a href="{{unsubscribe_url}}">Unsubscribe</a> · {{controller_name}}</p>',
  text: 'Hello {{first_name|there}},\nSee the offer: {{offer_url}}\nUnsubscribe: {{unsubscribe_url}}',
};

export const SMS_LV = { text: 'Klix: {{first_name|Sveiki}}, jums ir jauns piedavajums: {{offer_url}}' };
export const PUSH_LV = { title: 'Jauns piedāvājums', body: '{{first_name|Sveiki}}, skatiet lietotnē!' };

export function offerInput(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    key: 'spring-cashback',
    name: 'Spring cashback',
    purpose: 'service_offers',
    contents: {
      email: { lv: EMAIL_LV, en: EMAIL_EN },
      sms: { lv: SMS_LV },
      push: { lv: PUSH_LV },
    },
    ...overrides,
  };
}
