import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { ROOT } from './service-env.js';

/**
 * Prometheus's `promtool`, for tests: `$PROMTOOL` (scripts/test.sh sets it), else what
 * scripts/promtool.sh unpacked into .data/tools, else `promtool` on PATH. Missing, it throws: these
 * tests must fail, not skip, when the tool is not there.
 */
export function promtoolPath(): string {
  const candidates = [
    process.env.PROMTOOL,
    `${ROOT}.data/tools/promtool`,
    ...(process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, 'promtool')),
  ];
  for (const candidate of candidates) {
    if (candidate === undefined || candidate === '') continue;
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  throw new Error(
    'promtool is not installed: run `bash scripts/test.sh` (it unpacks promtool from Debian’s prometheus package into .data/tools via scripts/promtool.sh), or `bash scripts/promtool.sh` once, or set PROMTOOL to a promtool binary',
  );
}

export interface PromtoolResult {
  readonly code: number | null;
  /** stdout and stderr together, in the order written. */
  readonly output: string;
}

/** Runs promtool with these arguments (and `stdin`, if given) from `cwd` (the repository by default). */
export function promtool(
  args: readonly string[],
  options: { stdin?: string; cwd?: string } = {},
): Promise<PromtoolResult> {
  const binary = promtoolPath();
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { cwd: options.cwd ?? ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
    child.stdin.end(options.stdin ?? '');
  });
}
