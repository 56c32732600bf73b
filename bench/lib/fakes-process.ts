import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { EXAMPLE_TWILIO_ACCOUNT_SID, EXAMPLE_TWILIO_AUTH_TOKEN } from '../../test/fakes/fakes.js';

const RUN = fileURLToPath(new URL('../../test/fakes/run.ts', import.meta.url));
const TSX_LOADER = import.meta.resolve('tsx');

/** The provider fakes running in a process of their own (JSON: it crosses to the children). */
export type FakesProcess = {
  readonly pid: number;
  readonly smtp: number;
  readonly twilio: number;
  readonly fcm: number;
  readonly control: number;
};

/**
 * Starts `node --import tsx test/fakes/run.ts` on free ports and resolves with its pid and ports
 * (the one JSON line it prints). The fakes stay up across the run's children until `stopFakesProcess`.
 */
export function startFakesProcess(): Promise<FakesProcess> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      TSX_LOADER,
      RUN,
      '--twilio-account-sid',
      EXAMPLE_TWILIO_ACCOUNT_SID,
      '--twilio-auth-token',
      EXAMPLE_TWILIO_AUTH_TOKEN,
    ],
    { stdio: ['ignore', 'pipe', 2] },
  );
  const stdout = child.stdout;
  if (stdout === null) throw new Error('the fakes process has no stdout');
  return new Promise((resolve, reject) => {
    let out = '';
    child.once('error', reject);
    child.once('exit', (code) =>
      reject(new Error(`the fakes process ended (exit code ${code}) before its ports`)),
    );
    stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n')[0];
      if (!out.includes('\n') || line === undefined || child.pid === undefined) return;
      const ports = JSON.parse(line) as Omit<FakesProcess, 'pid'>;
      stdout.removeAllListeners('data');
      stdout.resume();
      resolve({ pid: child.pid, ...ports });
    });
  });
}

export function stopFakesProcess(fakes: FakesProcess | undefined): void {
  if (fakes === undefined) return;
  try {
    process.kill(fakes.pid, 'SIGTERM');
  } catch {
    // already gone
  }
}
