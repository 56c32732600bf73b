import { spawn } from 'node:child_process';
import { ROOT } from './service-env.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `consentcast ...` as a real child process (through tsx), with exactly the given environment. */
export function runConsentcast(
  args: readonly string[],
  env: Record<string, string | undefined>,
  timeoutMs = 30_000,
) {
  return new Promise<CliResult>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', `${ROOT}workers/consentcast.ts`, ...args], {
      cwd: `${ROOT}test`, // no .env here: the environment is exactly what the test passes
      env: { PATH: process.env.PATH, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`consentcast ${args.join(' ')} did not finish in ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
