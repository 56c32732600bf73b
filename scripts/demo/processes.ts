import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { FakePorts } from '../../test/fakes/fakes.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The roles the demo runs: `all` is every role (api, campaign-runner, scheduler, email, sms, push,
 * maintenance) in one `consentcast all` process, as DESIGN.md intends for small installs and the demo.
 * Separate processes work too: list the role names instead.
 */
export const DEMO_ROLES: readonly string[] = ['all'];

export type Env = Record<string, string | undefined>;

/** A child process whose output goes to a log file; `exited` resolves with its exit code. */
export interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  readonly logFile: string;
  readonly exited: Promise<number | null>;
}

/** Starts `node --import tsx ARGS`; stderr (and stdout unless the caller reads it) go to DIR/NAME.log. */
function start(name: string, args: readonly string[], env: Env, dir: string, readStdout = false): Child {
  const logFile = join(dir, `${name}.log`);
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (!readStdout) child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code, signal) => {
      log.end();
      resolve(code ?? (signal === null ? null : 128));
    }),
  );
  return { name, process: child, logFile, exited };
}

/** The last lines of a child's log, for an error message. */
export function tail(child: Child, lines = 15): string {
  try {
    return readFileSync(child.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Starts a `consentcast <role>` process (workers/consentcast.ts through tsx). */
export function startRole(role: string, env: Env, dir: string): Child {
  return start(role, ['workers/consentcast.ts', role], env, dir);
}

/**
 * Starts the provider fakes in their own process (test/fakes/run.ts) on free ports, writing every
 * delivery to `deliveryLog`; resolves with the ports once they listen.
 */
export async function startFakesProcess(
  env: Env,
  dir: string,
  deliveryLog: string,
): Promise<{ child: Child; ports: FakePorts }> {
  const args = ['test/fakes/run.ts', '--log', deliveryLog];
  if (env.FCM_PROJECT_ID) args.push('--fcm-project-id', env.FCM_PROJECT_ID);
  const child = start('fakes', args, env, dir, true);
  const stdout = child.process.stdout;
  if (stdout === null) throw new Error('fakes: no stdout');
  const first = await new Promise<string>((resolve, reject) => {
    createInterface({ input: stdout }).once('line', resolve);
    void child.exited.then((code) =>
      reject(new Error(`the provider fakes exited with ${code}; see ${child.logFile}`)),
    );
  });
  return { child, ports: JSON.parse(first) as FakePorts };
}

/** Runs a `consentcast` command to its end; resolves with its exit code and standard output. */
export function runCommand(
  args: readonly string[],
  env: Env,
  input?: AsyncIterable<string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'workers/consentcast.ts', ...args], {
    cwd: ROOT,
    env,
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.once('exit', (code) => resolve({ code, stdout, stderr })),
  );
  if (input !== undefined && child.stdin !== null) {
    const stdin = child.stdin;
    void (async () => {
      for await (const chunk of input) {
        if (!stdin.write(chunk)) await new Promise((r) => stdin.once('drain', r));
      }
      stdin.end();
    })();
  }
  return done;
}

/** Stops children with SIGTERM and waits for them; SIGKILL after `graceMs`. */
export async function stopAll(children: readonly Child[], graceMs = 30_000): Promise<(number | null)[]> {
  for (const c of children) if (c.process.exitCode === null) c.process.kill('SIGTERM');
  const timer = setTimeout(() => {
    for (const c of children) if (c.process.exitCode === null) c.process.kill('SIGKILL');
  }, graceMs);
  try {
    return await Promise.all(children.map((c) => c.exited));
  } finally {
    clearTimeout(timer);
  }
}
