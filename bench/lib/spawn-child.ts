import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CHILD_REQUEST_ENV, type ChildRequest, isChildReply, type Measurement } from './protocol.js';

const CHILD_ENTRY = fileURLToPath(new URL('../child.ts', import.meta.url));
/** tsx 4's loader (`node --import tsx`): registers TypeScript for ESM and CJS, as `tsx file.ts` does. */
const TSX_LOADER = import.meta.resolve('tsx');

export interface RunningChild {
  readonly process: ChildProcess;
  readonly result: Promise<Measurement>;
}

/**
 * Starts bench/child.ts in a fresh Node process (no flags inherited from this one) and resolves with
 * its measurement. The child's stdout goes to our stderr, so that our stdout carries only the report.
 */
export function spawnChild(request: ChildRequest): RunningChild {
  // BENCH_NODE_ARGS: Node flags for the children only, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`
  // (Node refuses profiling flags in NODE_OPTIONS).
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(/\s+/).filter((a) => a.length > 0);
  const child = spawn(process.execPath, [...nodeArgs, '--import', TSX_LOADER, CHILD_ENTRY], {
    env: { ...process.env, [CHILD_REQUEST_ENV]: JSON.stringify(request) },
    stdio: ['ignore', 2, 2, 'ipc'],
  });
  const result = new Promise<Measurement>((resolve, reject) => {
    let reply: unknown;
    child.on('message', (message: unknown) => {
      reply = message;
    });
    child.on('error', reject);
    // 'close', not 'exit': it comes after the IPC channel has delivered every message.
    child.on('close', (code, signal) => {
      if (isChildReply(reply)) {
        if (reply.ok) resolve(reply.measurement);
        else reject(new Error(`variant failed in its child process:\n${reply.error}`));
        return;
      }
      reject(new Error(`child process ended (${signal ?? `exit code ${code}`}) without a measurement`));
    });
  });
  return { process: child, result };
}
