import { spawn } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { exampleEnv } from '../../test/support/service-env.js';

/**
 * `consentcast` as production runs it: the compiled JavaScript (`npm run build`, the Docker image's
 * `node dist/workers/consentcast.js`), without the tsx loader the benchmark children run under. A
 * benchmark that measures a command's memory should measure this form: the loader and its
 * TypeScript transforms are not part of what production runs.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI_ENTRY = `${ROOT}dist/workers/consentcast.js`;

/**
 * Preloaded into the command: its RSS when it starts (Node only, before the app's modules), and the
 * kernel's maxRSS and the CPU time used when it exits (`process.exit` runs 'exit' listeners), written as JSON to the file
 * named by CC_BENCH_RSS_FILE. A data URL: nothing to compile, nothing to find on disk.
 */
const RSS_REPORTER = `data:text/javascript,${encodeURIComponent(
  "import{writeFileSync}from'node:fs';const f=process.env.CC_BENCH_RSS_FILE;const start=process.memoryUsage.rss();" +
    "process.on('exit',()=>{const c=process.cpuUsage();if(f)writeFileSync(f,JSON.stringify({start,peak:process.resourceUsage().maxRSS*1024,cpu:(c.user+c.system)/1e6}))});",
)}`;

/** Compiles src, workers and migrations into dist/ (`npm run build`), so a run measures today's code. */
export function buildCli(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: ['ignore', 2, 2] });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`npm run build exited ${code}`))));
  });
}

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly rssStartBytes: number;
  readonly rssPeakBytes: number;
  readonly cpuSeconds: number;
}

/**
 * Runs `node dist/workers/consentcast.js <args>` in `cwd` (which should hold no .env) with
 * .env.example's configuration and `env` on top; stderr goes to ours. `rssFile` receives the
 * process's RSS figures.
 */
export async function runCompiledCli(
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  cwd: string,
  rssFile: string,
): Promise<CliRun> {
  const child = spawn(process.execPath, ['--import', RSS_REPORTER, CLI_ENTRY, ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...exampleEnv(), ...env, CC_BENCH_RSS_FILE: rssFile },
    stdio: ['ignore', 'pipe', 2],
  });
  const out = child.stdout;
  if (out === null) throw new Error('no stdout pipe');
  let stdout = '';
  out.setEncoding('utf8');
  out.on('data', (d: string) => {
    stdout += d;
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  const rss = JSON.parse(await readFile(rssFile, 'utf8')) as { start: number; peak: number; cpu: number };
  await rm(rssFile, { force: true });
  return { code, stdout, rssStartBytes: rss.start, rssPeakBytes: rss.peak, cpuSeconds: rss.cpu };
}
