import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { delimiter, dirname } from 'node:path';
import { type BuiltStage, hostPath } from './image-build.js';

/** A host account standing in for the image's USER. */
export interface HostUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

/**
 * The image's USER when this machine has it, else `nobody`: either way not root, and unable to write
 * to the root-owned application directory, as in the container. Undefined when the tests do not run as
 * root (they then run the role as themselves, already not root).
 */
export function hostUserFor(user: string | undefined): HostUser | undefined {
  if (user === undefined || process.getuid?.() !== 0) return undefined;
  const accounts = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .map((line) => line.split(':'))
    .map(([name = '', , uid = '', gid = '']) => ({ name, uid: Number(uid), gid: Number(gid) }));
  const found =
    accounts.find((a) => a.name === user || String(a.uid) === user) ??
    accounts.find((a) => a.name === 'nobody');
  if (!found) throw new Error(`neither ${user} nor nobody exists on this machine`);
  return found;
}

/** What the process sees: the image's ENV under `docker run -e` values, plus a PATH with this Node. */
export function containerEnv(
  image: BuiltStage,
  runEnv: Readonly<Record<string, string>>,
): Record<string, string> {
  return { PATH: `${dirname(process.execPath)}${delimiter}/usr/bin:/bin`, ...image.env, ...runEnv };
}

export interface Container {
  readonly child: ChildProcess;
  /** The last 16 kB of stdout and stderr, for failure messages. */
  output(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `docker run IMAGE ...args`: the ENTRYPOINT with the arguments (or CMD), in WORKDIR, as USER. */
export function startContainer(
  image: BuiltStage,
  args: readonly string[] | undefined,
  env: Readonly<Record<string, string>>,
  user: HostUser | undefined,
): Container {
  const [command, ...entryArgs] = image.entrypoint ?? [];
  if (command === undefined) throw new Error('the image has no ENTRYPOINT');
  const child = spawn(command, [...entryArgs, ...(args ?? image.cmd ?? [])], {
    cwd: hostPath(image, '.'),
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(user ? { uid: user.uid, gid: user.gid } : {}),
  });
  let output = '';
  const collect = (d: Buffer): void => {
    output = (output + d.toString()).slice(-16_000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  return { child, output: () => output, exited };
}

/** Runs the image's HEALTHCHECK command as Docker would inside the container; resolves its exit code. */
export function runHealthcheck(
  image: BuiltStage,
  env: Readonly<Record<string, string>>,
  user: HostUser | undefined,
): Promise<number | null> {
  const [command, ...args] = image.healthcheck?.command ?? [];
  if (command === undefined) return Promise.reject(new Error('the image has no HEALTHCHECK'));
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: hostPath(image, '.'),
      env,
      stdio: 'ignore',
      timeout: image.healthcheck?.timeoutMs,
      ...(user ? { uid: user.uid, gid: user.gid } : {}),
    });
    child.on('error', reject);
    child.on('exit', (code) => resolve(code));
  });
}
