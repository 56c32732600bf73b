import type { Channel } from '../domain/vocabulary.js';
import { type EmailConfig, type PushConfig, readChannels, type SmsConfig } from './channels.js';
import { type ConfigProblem, type Env, EnvReader } from './env-reader.js';
import { secretWeakness } from './secrets.js';
import type { FrequencyCap, QuietHours } from './windows.js';
import { parseFrequencyCap, parseQuietHours } from './windows.js';

export type { EmailConfig, PushConfig, SmsConfig } from './channels.js';
export type { ConfigProblem, Env } from './env-reader.js';
export type { FrequencyCap, QuietHours } from './windows.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Identity and contacts of the controller, shown in every e-mail footer and on the unsubscribe page (N2). */
export interface ControllerIdentity {
  readonly name: string;
  readonly registrationNumber: string;
  readonly address: string;
  readonly phone: string;
  readonly email: string;
  readonly dpoEmail: string;
  readonly supportEmail: string;
}

export interface SigningKey {
  readonly id: string;
  readonly secret: string;
}

/** The whole validated configuration. Built once at start, frozen, and passed explicitly. */
export interface Config {
  /** As the application role. The schema owner (DATABASE_OWNER_URL) is `migrate`'s alone: no role reads it. */
  readonly database: { readonly url: string; readonly poolSize: number };
  readonly redis: { readonly url: string; readonly queuePrefix: string };
  readonly http: { readonly host: string; readonly port: number; readonly publicBaseUrl: string };
  /** A role's own `GET /metrics` listener on HTTP_HOST (docs/operations.md); absent: off. */
  readonly metrics: { readonly port?: number };
  readonly logLevel: LogLevel;
  /** The current key signs; previous keys still verify (rotation). */
  readonly signing: { readonly current: SigningKey; readonly previous: readonly SigningKey[] };
  /** Key of the keyed hashes that stand in for identifiers in consent evidence and suppressions. */
  readonly pseudonymSecret: string;
  readonly controller: ControllerIdentity;
  /** The channels this installation sends on (CHANNELS); the settings of the others are not read. */
  readonly channels: readonly Channel[];
  /** Present when e-mail is enabled. */
  readonly email?: EmailConfig;
  /** Present when SMS is enabled. */
  readonly sms?: SmsConfig;
  /** Present when push is enabled. */
  readonly push?: PushConfig;
  readonly policy: {
    readonly quietHours: QuietHours;
    readonly frequencyCap: FrequencyCap;
    readonly frequencyCapCeiling: FrequencyCap;
    readonly workerConcurrency: number;
    /**
     * How long a claimed message's lease lasts. It renews while the worker lives and its send is in
     * flight; past it the reconciler settles the message (indeterminate if its provider call had
     * started, else back to queued).
     */
    readonly sendLeaseSeconds: number;
    /**
     * Sends each channel's sender can start at once (its hand-off capacity): a worker claims a message
     * only when one of these is free, so the re-check stays just before the hand-off (N13).
     */
    readonly handoff: { readonly email: number; readonly sms: number; readonly push: number };
  };
  readonly runner: {
    /** Recipients per keyset chunk of a campaign run. */
    readonly chunkSize: number;
    /** How long a runner's claim on a run lasts without progress before another may take it over. */
    readonly leaseMs: number;
  };
  readonly campaigns: {
    /** Four-eyes: a campaign is scheduled or run only after a second person approved its version. */
    readonly approvalRequired: boolean;
    /** Client numbers a test send goes to (consent and every other check still apply). */
    readonly testSeedClientNumbers: readonly string[];
  };
  /** Staff sign-in (docs/staff.md). */
  readonly staff: {
    /** A session ends after this long without a request. */
    readonly sessionIdleMinutes: number;
    /** …and this long after sign-in, whatever happens. */
    readonly sessionMaxHours: number;
    /** How long a one-time set-password token lasts. */
    readonly setPasswordTokenHours: number;
  };
}

export type ConfigResult = { ok: true; config: Config } | { ok: false; problems: readonly ConfigProblem[] };

const EMAIL = /^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/;

function readSigning(r: EnvReader): Config['signing'] {
  const secret = r.secret('SIGNING_SECRET');
  const id = r.string('SIGNING_KEY_ID', 'k1');
  if (!/^[A-Za-z0-9_-]{1,16}$/.test(id)) r.problem('SIGNING_KEY_ID', 'expected 1-16 letters, digits, _ or -');
  const previous: SigningKey[] = [];
  const list = r.optional('SIGNING_SECRETS_PREVIOUS');
  if (list !== undefined) {
    for (const [i, entry] of list.split(',').entries()) {
      const eq = entry.indexOf('=');
      const kid = entry.slice(0, eq).trim();
      const value = entry.slice(eq + 1).trim();
      // A retired key still verifies links: a weak or published one would let anyone forge them.
      const weakness = secretWeakness(value);
      if (eq <= 0 || !/^[A-Za-z0-9_-]{1,16}$/.test(kid) || value === '') {
        r.problem('SIGNING_SECRETS_PREVIOUS', `entry ${i + 1} is not KEY_ID=SECRET`);
      } else if (weakness !== undefined) {
        r.problem('SIGNING_SECRETS_PREVIOUS', `entry ${i + 1} (key id "${kid}"): the secret ${weakness}`);
      } else if (kid === id) {
        r.problem('SIGNING_SECRETS_PREVIOUS', `entry ${i + 1} reuses the current key id "${id}"`);
      } else if (previous.some((k) => k.id === kid)) {
        // only the first of two keys with one id would ever be tried: links signed with the other would fail
        r.problem('SIGNING_SECRETS_PREVIOUS', `entry ${i + 1} repeats the key id "${kid}"`);
      } else {
        previous.push({ id: kid, secret: value });
      }
    }
  }
  return { current: { id, secret }, previous };
}

function readController(r: EnvReader): ControllerIdentity {
  const email = (key: string): string => {
    const value = r.required(key, 'an e-mail address');
    if (value !== '' && !EMAIL.test(value)) r.problem(key, 'is not an e-mail address');
    return value;
  };
  return {
    name: r.required('CONTROLLER_NAME', 'the controller\'s legal name, e.g. AS "Citadele banka"'),
    registrationNumber: r.required('CONTROLLER_REG_NO', "the controller's registration number"),
    address: r.required('CONTROLLER_ADDRESS', "the controller's postal address"),
    phone: r.required('CONTROLLER_PHONE', "the controller's phone number"),
    email: email('CONTROLLER_EMAIL'),
    dpoEmail: email('CONTROLLER_DPO_EMAIL'),
    supportEmail: email('SUPPORT_EMAIL'),
  };
}

function readPolicy(r: EnvReader): Config['policy'] {
  const quietRaw = r.string('QUIET_HOURS_DEFAULT', '21:00-09:00');
  const quietHours = parseQuietHours(quietRaw);
  if (!quietHours.ok) r.problem('QUIET_HOURS_DEFAULT', quietHours.error);
  const capRaw = r.string('FREQUENCY_CAP_DEFAULT', '2/7d');
  const cap = parseFrequencyCap(capRaw);
  if (!cap.ok) r.problem('FREQUENCY_CAP_DEFAULT', cap.error);
  const ceilingRaw = r.string('FREQUENCY_CAP_CEILING', '4/7d');
  const ceiling = parseFrequencyCap(ceilingRaw);
  if (!ceiling.ok) r.problem('FREQUENCY_CAP_CEILING', ceiling.error);
  if (
    cap.ok &&
    ceiling.ok &&
    cap.value.max / cap.value.windowHours > ceiling.value.max / ceiling.value.windowHours
  ) {
    r.problem('FREQUENCY_CAP_DEFAULT', `${capRaw} allows more than the ceiling ${ceilingRaw}`);
  }
  return {
    quietHours: quietHours.ok ? quietHours.value : { startMinute: 21 * 60, endMinute: 9 * 60 },
    frequencyCap: cap.ok ? cap.value : { max: 2, windowHours: 168 },
    frequencyCapCeiling: ceiling.ok ? ceiling.value : { max: 4, windowHours: 168 },
    workerConcurrency: r.integer('WORKER_CONCURRENCY', 100, { min: 1, max: 1000 }),
    sendLeaseSeconds: r.integer('SEND_LEASE_SECONDS', 20, { min: 2, max: 86_400 }),
    handoff: {
      email: r.integer('SMTP_MAX_CONNECTIONS', 5, { min: 1, max: 200 }),
      sms: r.integer('SMS_MAX_CONNECTIONS', 100, { min: 1, max: 1000 }),
      push: r.integer('PUSH_MAX_IN_FLIGHT', 100, { min: 1, max: 1000 }),
    },
  };
}

function readCampaigns(r: EnvReader): Config['campaigns'] {
  const seeds = (r.optional('CAMPAIGN_TEST_SEED_CLIENT_NUMBERS') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const bad = seeds.filter((s) => !/^[A-Za-z0-9_-]{1,64}$/.test(s));
  if (bad.length > 0)
    r.problem('CAMPAIGN_TEST_SEED_CLIENT_NUMBERS', `${bad.length} entries are not client numbers`);
  if (seeds.length > 100) r.problem('CAMPAIGN_TEST_SEED_CLIENT_NUMBERS', 'at most 100 client numbers');
  return {
    approvalRequired: r.boolean('CAMPAIGN_APPROVAL_REQUIRED', true),
    testSeedClientNumbers: [...new Set(seeds)],
  };
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/** Validates the environment into a typed, frozen configuration, or names every problem. */
export function loadConfig(env: Env): ConfigResult {
  const r = new EnvReader(env);
  const databaseUrl = r.url('DATABASE_URL', ['postgres:', 'postgresql:'], { required: true });
  const redisUrl = r.url('REDIS_URL', ['redis:', 'rediss:'], { required: true });
  const publicBaseUrl = r.url('PUBLIC_BASE_URL', ['http:', 'https:'], { required: true });
  const queuePrefix = r.string('QUEUE_PREFIX', 'cc');
  if (!/^[A-Za-z0-9_:{}-]{1,64}$/.test(queuePrefix)) {
    // BullMQ keys are prefix:queue:...; on Redis Cluster use a hash tag such as {cc}.
    r.problem('QUEUE_PREFIX', 'expected 1-64 letters, digits, _ - : { }');
  }
  const config: Config = {
    database: {
      url: databaseUrl?.toString() ?? '',
      poolSize: r.integer('DATABASE_POOL_SIZE', 20, { min: 1, max: 500 }),
    },
    redis: { url: redisUrl?.toString() ?? '', queuePrefix },
    http: {
      host: r.string('HTTP_HOST', '127.0.0.1'),
      port: r.integer('HTTP_PORT', 8080, { min: 0, max: 65535 }),
      publicBaseUrl: publicBaseUrl?.toString().replace(/\/$/, '') ?? '',
    },
    metrics:
      r.raw('METRICS_PORT') === undefined
        ? {}
        : { port: r.integer('METRICS_PORT', 0, { min: 1, max: 65535 }) },
    logLevel: r.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
    signing: readSigning(r),
    pseudonymSecret: r.secret('PSEUDONYM_SECRET'),
    controller: readController(r),
    ...readChannels(r),
    policy: readPolicy(r),
    runner: {
      chunkSize: r.integer('RUN_CHUNK_SIZE', 5000, { min: 100, max: 100_000 }),
      leaseMs: r.integer('RUN_LEASE_SECONDS', 60, { min: 2, max: 3600 }) * 1000,
    },
    campaigns: readCampaigns(r),
    staff: {
      sessionIdleMinutes: r.integer('STAFF_SESSION_IDLE_MINUTES', 30, { min: 1, max: 24 * 60 }),
      sessionMaxHours: r.integer('STAFF_SESSION_MAX_HOURS', 12, { min: 1, max: 24 * 7 }),
      setPasswordTokenHours: r.integer('STAFF_SET_PASSWORD_TOKEN_HOURS', 72, { min: 1, max: 24 * 14 }),
    },
  };
  if (
    config.pseudonymSecret === config.signing.current.secret &&
    !r.problems.some((p) => p.key === 'PSEUDONYM_SECRET' || p.key === 'SIGNING_SECRET')
  ) {
    // Signing keys rotate and the pseudonym key never does (docs/architecture.md): they must differ.
    r.problem('PSEUDONYM_SECRET', 'is the same as SIGNING_SECRET; give each its own random secret');
  }
  if (r.problems.length > 0) return { ok: false, problems: r.problems };
  return { ok: true, config: deepFreeze(config) };
}

/** One line per problem, naming the key; what the process prints before it exits with code 2. */
export function formatProblems(problems: readonly ConfigProblem[]): string {
  return problems.map((p) => `config error: ${p.key}: ${p.message}`).join('\n');
}
