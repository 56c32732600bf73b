/**
 * Runs the provider fakes in their own process (benchmarks, the demo):
 *
 *   node --import tsx test/fakes/run.ts --smtp-port 2525 --twilio-port 4010 --fcm-port 4020 \
 *     [--control-port N] [--log deliveries.jsonl]
 *
 * Port 0 (the default) picks a free one. Prints the bound ports as one JSON line on stdout,
 * `{"smtp":2525,"twilio":4010,"fcm":4020,"control":40123}`, then serves until SIGTERM/SIGINT.
 * Credentials: --twilio-account-sid / --twilio-auth-token (else TWILIO_ACCOUNT_SID /
 * TWILIO_AUTH_TOKEN, else the .env.example values), --fcm-access-token (else the sandbox token),
 * --fcm-project-id (else any project).
 */
import { parseArgs } from 'node:util';
import { startFakes } from './fakes.js';

function port(value: string | undefined, flag: string): number {
  if (value === undefined) return 0;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    console.error(`run.ts: ${flag} must be a port number (0-65535), got "${value}"`);
    process.exit(2);
  }
  return n;
}

const { values } = parseArgs({
  options: {
    'smtp-port': { type: 'string' },
    'twilio-port': { type: 'string' },
    'fcm-port': { type: 'string' },
    'control-port': { type: 'string' },
    log: { type: 'string' },
    'twilio-account-sid': { type: 'string' },
    'twilio-auth-token': { type: 'string' },
    'fcm-access-token': { type: 'string' },
    'fcm-project-id': { type: 'string' },
  },
  strict: true,
});

const twilioAccountSid = values['twilio-account-sid'] ?? process.env.TWILIO_ACCOUNT_SID;
const twilioAuthToken = values['twilio-auth-token'] ?? process.env.TWILIO_AUTH_TOKEN;
const fakes = await startFakes({
  smtpPort: port(values['smtp-port'], '--smtp-port'),
  twilioPort: port(values['twilio-port'], '--twilio-port'),
  fcmPort: port(values['fcm-port'], '--fcm-port'),
  controlPort: port(values['control-port'], '--control-port'),
  ...(values.log !== undefined ? { logFile: values.log } : {}),
  ...(twilioAccountSid ? { twilioAccountSid } : {}),
  ...(twilioAuthToken ? { twilioAuthToken } : {}),
  ...(values['fcm-access-token'] !== undefined ? { fcmAccessToken: values['fcm-access-token'] } : {}),
  ...(values['fcm-project-id'] !== undefined ? { fcmProjectId: values['fcm-project-id'] } : {}),
});
process.stdout.write(`${JSON.stringify(fakes.ports)}\n`);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await fakes.close();
  process.exit(0);
}
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
