import { CHANNELS, type Channel } from '../domain/vocabulary.js';
import type { EnvReader } from './env-reader.js';
import { checkTwilioResidency } from './residency.js';

/**
 * The channels an installation sends on (CHANNELS, default all three) and the provider settings of
 * each. Only an enabled channel's keys are read and required: an installation without SMS needs no
 * Twilio account. A role of a disabled channel refuses to start (src/cli/commands/roles.ts), `all`
 * leaves it out, and a campaign run plans only the enabled channels of its campaign
 * (`withSendableChannels` in src/campaigns/campaign.ts).
 */

export interface EmailConfig {
  readonly smtpUrl: string;
  readonly from: string;
  readonly ratePerSecond: number;
  readonly dkim?: { readonly domain: string; readonly selector: string; readonly privateKeyFile: string };
}

export interface SmsConfig {
  readonly accountSid: string;
  /** Authenticates our calls to Twilio and verifies the webhooks it posts to us. */
  readonly authToken: string;
  readonly from?: string;
  readonly messagingServiceSid?: string;
  readonly region: string;
  readonly edge: string;
  readonly apiBaseUrl?: string;
  readonly optOutText?: string;
  /**
   * Messages per second the SMS worker hands to Twilio (all workers together: the limiter is global
   * per queue). Never above `senderMps`: what Twilio accepts beyond its sender's throughput waits in
   * Twilio's queue (up to 10 hours), past our send-time consent re-check (docs/providers.md).
   */
  readonly ratePerSecond: number;
  /** Message segments per second the configured sender (number or messaging service) can send. */
  readonly senderMps: number;
}

export interface PushConfig {
  readonly projectId: string;
  readonly credentialsFile?: string;
  readonly apiBaseUrl?: string;
  readonly ratePerSecond: number;
}

export interface ChannelSettings {
  readonly channels: readonly Channel[];
  readonly email?: EmailConfig;
  readonly sms?: SmsConfig;
  readonly push?: PushConfig;
}

const E164 = /^\+[1-9]\d{6,14}$/;
const MAIL_FROM = /^(?:[^<>]*<[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+>|[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+)$/;

/** CHANNELS: a comma-separated list of email, sms, push; unset or empty, all three. */
function readEnabled(r: EnvReader): readonly Channel[] {
  const raw = r.optional('CHANNELS');
  if (raw === undefined) return CHANNELS;
  const given = raw
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '');
  const unknown = given.filter((c) => !(CHANNELS as readonly string[]).includes(c));
  if (unknown.length > 0) {
    r.problem(
      'CHANNELS',
      `unknown ${unknown.map((c) => `"${c}"`).join(', ')}; expected a list of ${CHANNELS.join(', ')}`,
    );
    return CHANNELS;
  }
  if (given.length === 0) {
    r.problem('CHANNELS', `names no channel; expected a list of ${CHANNELS.join(', ')}`);
    return CHANNELS;
  }
  return CHANNELS.filter((c) => given.includes(c));
}

/** The enabled channels and the settings of each; a disabled channel's keys are not read. */
export function readChannels(r: EnvReader): ChannelSettings {
  const channels = readEnabled(r);
  return {
    channels,
    ...(channels.includes('email') ? { email: readEmail(r) } : {}),
    ...(channels.includes('sms') ? { sms: readSms(r) } : {}),
    ...(channels.includes('push') ? { push: readPush(r) } : {}),
  };
}

function readEmail(r: EnvReader): EmailConfig {
  const smtp = r.url('SMTP_URL', ['smtp:', 'smtps:'], { required: true });
  const from = r.required('MAIL_FROM', 'a sender address, e.g. "Klix <offers@klix.app>"');
  if (from !== '' && !MAIL_FROM.test(from)) r.problem('MAIL_FROM', 'is not an address or "Name <address>"');
  const ratePerSecond = r.integer('RATE_LIMIT_EMAIL_PER_SECOND', 100, { min: 1, max: 100_000 });
  const dkimDomain = r.optional('DKIM_DOMAIN');
  const dkimSelector = r.optional('DKIM_SELECTOR');
  const dkimKey = r.optional('DKIM_PRIVATE_KEY_FILE');
  const dkimSet = [dkimDomain, dkimSelector, dkimKey].filter((v) => v !== undefined).length;
  if (dkimSet !== 0 && dkimSet !== 3) {
    for (const [key, value] of [
      ['DKIM_DOMAIN', dkimDomain],
      ['DKIM_SELECTOR', dkimSelector],
      ['DKIM_PRIVATE_KEY_FILE', dkimKey],
    ] as const) {
      if (value === undefined)
        r.problem(key, 'missing; DKIM needs DKIM_DOMAIN, DKIM_SELECTOR and DKIM_PRIVATE_KEY_FILE');
    }
  }
  return {
    smtpUrl: smtp?.toString() ?? '',
    from,
    ratePerSecond,
    ...(dkimDomain && dkimSelector && dkimKey
      ? { dkim: { domain: dkimDomain, selector: dkimSelector, privateKeyFile: dkimKey } }
      : {}),
  };
}

function readSms(r: EnvReader): SmsConfig {
  const accountSid = r.required('TWILIO_ACCOUNT_SID', 'a Twilio account SID (AC followed by 32 hex digits)');
  if (accountSid !== '' && !/^AC[0-9a-fA-F]{32}$/.test(accountSid)) {
    r.problem('TWILIO_ACCOUNT_SID', 'expected AC followed by 32 hex digits');
  }
  // The token signs the webhooks Twilio posts to us (src/inbound/twilio.ts): it is never optional.
  const authToken = r.required('TWILIO_AUTH_TOKEN', 'the Twilio auth token (32 hex digits)');
  if (authToken !== '' && !/^[0-9a-fA-F]{32}$/.test(authToken)) {
    // never echo it, not even its length
    r.problem('TWILIO_AUTH_TOKEN', 'is not a Twilio auth token; expected 32 hex digits');
  }
  const from = r.optional('TWILIO_FROM');
  const messagingServiceSid = r.optional('TWILIO_MESSAGING_SERVICE_SID');
  if (from === undefined && messagingServiceSid === undefined) {
    r.problem(
      'TWILIO_FROM',
      'missing; set TWILIO_FROM (E.164 number or alphanumeric sender id) or TWILIO_MESSAGING_SERVICE_SID',
    );
  }
  if (from !== undefined && !E164.test(from) && !/^[A-Za-z0-9 ]{1,11}$/.test(from)) {
    r.problem(
      'TWILIO_FROM',
      'expected an E.164 number (+371...) or an alphanumeric sender id of up to 11 characters',
    );
  }
  if (messagingServiceSid !== undefined && !/^MG[0-9a-fA-F]{32}$/.test(messagingServiceSid)) {
    r.problem('TWILIO_MESSAGING_SERVICE_SID', 'expected MG followed by 32 hex digits');
  }
  const region = r.string('TWILIO_REGION', 'ie1').toLowerCase();
  const edge = r.string('TWILIO_EDGE', 'dublin').toLowerCase();
  for (const p of checkTwilioResidency(region, edge)) r.problem(p.key, p.message);
  const apiBase = r.url('TWILIO_API_BASE_URL', ['http:', 'https:'], { required: false });
  return {
    accountSid,
    authToken,
    region,
    edge,
    ...readSmsRate(r),
    ...(from !== undefined ? { from } : {}),
    ...(messagingServiceSid !== undefined ? { messagingServiceSid } : {}),
    ...(apiBase ? { apiBaseUrl: apiBase.origin } : {}),
    ...(r.optional('SMS_OPT_OUT_TEXT') !== undefined ? { optOutText: r.optional('SMS_OPT_OUT_TEXT') } : {}),
  };
}

/**
 * The SMS rate and the sender's throughput. Twilio accepts whatever it is sent and queues what its
 * sender cannot send yet (up to 10 hours); a message in that queue is past our consent re-check, so
 * a rate above the sender's throughput would turn "re-checked just before sending" (N13) into
 * "re-checked hours before sending". Such a configuration is refused at start. Without a rate, the
 * worker sends at the sender's throughput.
 */
function readSmsRate(r: EnvReader): Pick<SmsConfig, 'ratePerSecond' | 'senderMps'> {
  const before = r.problems.length;
  const senderMps = r.integer('TWILIO_SENDER_MPS', 1, { min: 1, max: 10_000 });
  const senderKnown = r.problems.length === before;
  const ratePerSecond = r.integer('RATE_LIMIT_SMS_PER_SECOND', senderMps, { min: 1, max: 10_000 });
  if (senderKnown && ratePerSecond > senderMps) {
    const given = r.raw('TWILIO_SENDER_MPS') === undefined ? ' (the default: one long code)' : '';
    r.problem(
      'RATE_LIMIT_SMS_PER_SECOND',
      `${ratePerSecond} is above the sender's throughput, TWILIO_SENDER_MPS=${senderMps}${given}: Twilio ` +
        'would hold the excess in its queue for up to 10 hours, past the consent re-check just before ' +
        'sending (N13); lower the rate, or set TWILIO_SENDER_MPS to what the sender really sends',
    );
  }
  return { ratePerSecond, senderMps };
}

function readPush(r: EnvReader): PushConfig {
  const projectId = r.required('FCM_PROJECT_ID', 'the Firebase project id');
  if (projectId !== '' && !/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/.test(projectId)) {
    r.problem('FCM_PROJECT_ID', 'expected a Firebase project id (6-30 lowercase letters, digits, -)');
  }
  const apiBase = r.url('FCM_API_BASE_URL', ['http:', 'https:'], { required: false });
  const credentialsFile = r.optional('GOOGLE_APPLICATION_CREDENTIALS');
  if (apiBase === undefined && credentialsFile === undefined) {
    r.problem(
      'GOOGLE_APPLICATION_CREDENTIALS',
      'missing; the path of the FCM service account JSON (or set FCM_API_BASE_URL for a sandbox)',
    );
  }
  return {
    projectId,
    ratePerSecond: r.integer('RATE_LIMIT_PUSH_PER_SECOND', 500, { min: 1, max: 10_000 }),
    ...(credentialsFile !== undefined ? { credentialsFile } : {}),
    ...(apiBase ? { apiBaseUrl: apiBase.origin } : {}),
  };
}
