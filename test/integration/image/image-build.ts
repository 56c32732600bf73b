import { spawn } from 'node:child_process';
import { cp, mkdir, readFile, stat } from 'node:fs/promises';
import { basename, delimiter, dirname, isAbsolute, join, posix, relative, resolve, sep } from 'node:path';
import { loadDockerignore } from './dockerignore.js';
import { type Healthcheck, NPM_CACHE_TARGET, planImage, type StagePlan, type Step } from './image-plan.js';

export interface StepTiming {
  readonly stage: string;
  readonly step: string;
  readonly ms: number;
}

/** A stage after its steps ran: its files on the host and the configuration `docker run` would use. */
export interface BuiltStage {
  readonly name: string;
  readonly base: string;
  /** The host directory standing in for the stage's `/`. */
  readonly root: string;
  readonly workdir: string;
  readonly env: Readonly<Record<string, string>>;
  readonly user: string | undefined;
  readonly exposed: readonly string[];
  readonly healthcheck: Healthcheck | undefined;
  readonly entrypoint: readonly string[] | undefined;
  readonly cmd: readonly string[] | undefined;
}

export interface BuildOptions {
  readonly dockerfile: string;
  readonly context: string;
  /** An empty directory; each stage gets a subdirectory as its `/`. */
  readonly into: string;
  /** What `RUN --mount=type=cache,target=/root/.npm` mounts: the host's npm cache, so installs are fast. */
  readonly npmCache: string;
  readonly onStep?: (timing: StepTiming) => void;
}

/** Passed through to npm so that a machine's registry mirror or proxy still applies. */
const PASS_THROUGH = [
  'npm_config_registry',
  'HTTPS_PROXY',
  'https_proxy',
  'HTTP_PROXY',
  'http_proxy',
  'NO_PROXY',
  'no_proxy',
];

/** The host path of a path inside a stage; relative paths start at the stage's WORKDIR. */
export function hostPath(stage: Pick<BuiltStage, 'root' | 'workdir'>, containerPath: string): string {
  return join(stage.root, posix.resolve(stage.workdir, containerPath));
}

function sh(command: string, cwd: string, env: Record<string, string>): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('sh', ['-c', command], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (d: Buffer): void => {
      output = (output + d.toString()).slice(-8_000);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolvePromise();
      else reject(new Error(`RUN ${command} exited ${code} in ${cwd}\n${output}`));
    });
  });
}

class StageBuilder {
  readonly root: string;
  workdir = '/';
  env: Record<string, string> = {};
  user: string | undefined;
  exposed: string[] = [];
  healthcheck: Healthcheck | undefined;
  entrypoint: readonly string[] | undefined;
  cmd: readonly string[] | undefined;
  /** Time the current step spent waiting for another stage, left out of its timing. */
  private waitedMs = 0;

  constructor(
    private readonly plan: StagePlan,
    private readonly options: BuildOptions,
    private readonly ignored: (relativePath: string) => boolean,
    private readonly earlier: ReadonlyMap<string, Promise<BuiltStage>>,
  ) {
    this.root = join(options.into, plan.name);
  }

  async build(): Promise<BuiltStage> {
    await mkdir(this.root, { recursive: true });
    for (const { step, text } of this.plan.steps) {
      const started = performance.now();
      this.waitedMs = 0;
      await this.apply(step);
      if (step.kind === 'run' || step.kind === 'copy') {
        const ms = Math.round(performance.now() - started - this.waitedMs);
        this.options.onStep?.({ stage: this.plan.name, step: text, ms });
      }
    }
    const { root, workdir, env, user, exposed, healthcheck, entrypoint, cmd } = this;
    const { name, base } = this.plan;
    return { name, base, root, workdir, env, user, exposed, healthcheck, entrypoint, cmd };
  }

  private async apply(step: Step): Promise<void> {
    switch (step.kind) {
      case 'workdir':
        this.workdir = posix.resolve(step.path);
        await mkdir(hostPath(this, '.'), { recursive: true });
        return;
      case 'env':
        for (const [key, value] of step.pairs) this.env[key] = value;
        return;
      case 'user':
        this.user = step.user;
        return;
      case 'expose':
        this.exposed.push(...step.ports);
        return;
      case 'healthcheck':
        this.healthcheck = step.healthcheck;
        return;
      case 'entrypoint':
        this.entrypoint = step.command;
        return;
      case 'cmd':
        this.cmd = step.command;
        return;
      case 'label':
        return;
      case 'copy':
        return this.copy(step);
      case 'run':
        return this.run(step);
    }
  }

  /** COPY from the build context (through .dockerignore) or `--from` an earlier stage. */
  private async copy(step: Extract<Step, { kind: 'copy' }>): Promise<void> {
    const waitStarted = performance.now();
    const fromStage = step.from === undefined ? undefined : await this.earlier.get(step.from);
    this.waitedMs = performance.now() - waitStarted;
    const destHost = hostPath(this, step.dest);
    const intoDirectory = step.dest.endsWith('/') || step.sources.length > 1;
    for (const source of step.sources) {
      const sourceHost = fromStage
        ? hostPath({ root: fromStage.root, workdir: '/' }, source)
        : this.contextPath(source);
      const filter = fromStage
        ? undefined
        : (path: string): boolean => {
            const rel = relative(this.options.context, path).split(sep).join('/');
            return rel === '' || !this.ignored(rel);
          };
      const isDirectory = (await stat(sourceHost)).isDirectory();
      const target = isDirectory || !intoDirectory ? destHost : join(destHost, basename(sourceHost));
      await mkdir(isDirectory ? target : dirname(target), { recursive: true });
      await cp(sourceHost, target, { recursive: true, filter });
    }
  }

  private contextPath(source: string): string {
    const path = resolve(this.options.context, source);
    const rel = relative(this.options.context, path);
    if (rel.startsWith('..') || isAbsolute(rel)) throw new Error(`COPY ${source}: outside the build context`);
    if (rel !== '' && this.ignored(rel.split(sep).join('/'))) {
      throw new Error(`COPY ${source}: excluded by .dockerignore`);
    }
    return path;
  }

  private async run(step: Extract<Step, { kind: 'run' }>): Promise<void> {
    // As in the build container: HOME is the stage's /root, so npm reads no user .npmrc of this machine,
    // and without a cache mount npm's cache lands in the stage, not in this machine's cache.
    const home = hostPath({ root: this.root, workdir: '/' }, '/root');
    await mkdir(home, { recursive: true });
    const env: Record<string, string> = {
      PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`,
      HOME: home,
      ...this.env,
      npm_config_cache: step.npmCacheMount
        ? this.options.npmCache
        : hostPath({ root: this.root, workdir: '/' }, NPM_CACHE_TARGET),
      // Not in the Dockerfile: with a warm cache npm skips the registry; an empty cache still downloads.
      npm_config_prefer_offline: 'true',
      npm_config_update_notifier: 'false',
    };
    for (const key of PASS_THROUGH) {
      const value = process.env[key];
      if (value !== undefined) env[key] = value;
    }
    await sh(step.command, hostPath(this, '.'), env);
  }
}

/**
 * Performs a Dockerfile's steps in directories on this machine. Every step is checked first (see
 * image-plan.ts); stages then build concurrently, as with BuildKit, and `COPY --from` waits for its
 * stage. Returns every stage, the image's last.
 */
export async function buildImage(options: BuildOptions): Promise<BuiltStage[]> {
  const plans = planImage(await readFile(options.dockerfile, 'utf8'));
  const ignored = loadDockerignore(options.context);
  const built = new Map<string, Promise<BuiltStage>>();
  for (const plan of plans) {
    built.set(plan.name, new StageBuilder(plan, options, ignored, new Map(built)).build());
  }
  // Settled, not all: a failed stage must not leave another still writing into a directory being removed.
  const results = await Promise.allSettled(built.values());
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
}
