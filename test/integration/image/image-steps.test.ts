// There is no Docker engine on these machines. This file performs the image's own steps instead: it
// reads the Dockerfile, runs its COPY and RUN lines in temporary directories (one per stage) and starts
// its ENTRYPOINT, so a change to how the image is built or started is tested here. See docs/docker.md.
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { exampleEnv, ROOT } from '../../support/service-env.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';
import { type Container, containerEnv, hostUserFor, runHealthcheck, startContainer } from './container.js';
import { type BuiltStage, buildImage, hostPath, type StepTiming } from './image-build.js';

// About 40 s on an idle 2-core machine; the margin is for a machine busy with other test runs.
const BUILD_TIMEOUT_MS = 150_000;
const HEALTHY_WITHIN_MS = 30_000;
const STOPPED_WITHIN_MS = 10_000;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The promise's value, or undefined when it takes longer than `ms`. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function waitForHealthy(url: string, container: Container): Promise<void> {
  const deadline = Date.now() + HEALTHY_WITHIN_MS;
  let exited = false;
  void container.exited.then(() => {
    exited = true;
  });
  while (Date.now() < deadline && !exited) {
    const status = await fetch(url, { signal: AbortSignal.timeout(1_000) }).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return;
    await sleep(200);
  }
  throw new Error(
    `${url} did not answer 200 within ${HEALTHY_WITHIN_MS} ms${exited ? ' (the process exited)' : ''}\n${container.output()}`,
  );
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' });
}

describe('the image built from the Dockerfile, without a Docker engine', () => {
  const timings: StepTiming[] = [];
  let dir: string | undefined;
  let t: TestDatabase | undefined;
  let image: BuiltStage;
  let stages: BuiltStage[];
  let app: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cc-image-'));
    chmodSync(dir, 0o755); // the role runs as an unprivileged user, who must reach the stage directories
    const started = performance.now();
    stages = await buildImage({
      dockerfile: `${ROOT}Dockerfile`,
      context: ROOT,
      into: dir,
      npmCache: process.env.npm_config_cache ?? join(homedir(), '.npm'),
      onStep: (timing) => timings.push(timing),
    });
    const last = stages.at(-1);
    if (!last) throw new Error('the Dockerfile has no stage');
    image = last;
    app = hostPath(image, '.');
    const lines = timings.map((s) => `  ${(s.ms / 1000).toFixed(1).padStart(5)} s  [${s.stage}] ${s.step}`);
    console.info(
      `image steps (${((performance.now() - started) / 1000).toFixed(1)} s in all):\n${lines.join('\n')}`,
    );
  }, BUILD_TIMEOUT_MS);

  afterAll(async () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    await t?.drop();
  });

  it('builds every stage from a Node image of the major version these steps run on', () => {
    const major = process.versions.node.split('.')[0];
    for (const stage of stages) expect(stage.base).toMatch(new RegExp(`^node:${major}-`));
  });

  it('installs the production dependency tree only, so no dev-only package and no tsx is in the image', () => {
    // The lockfile marks what only devDependencies need (`dev`); a devDependency that a production
    // package also needs (@types/node) is rightly installed.
    const lock = JSON.parse(readFileSync(`${ROOT}package-lock.json`, 'utf8')) as {
      packages: Record<string, { dev?: boolean; optional?: boolean; devOptional?: boolean }>;
    };
    const installed = (path: string): boolean => existsSync(`${app}/${path}`);
    const entries = Object.entries(lock.packages).filter(([path]) => path !== '');
    const devOnly = entries.filter(([path, p]) => p.dev === true && installed(path)).map(([path]) => path);
    const missing = entries
      .filter(([path, p]) => !p.dev && !p.optional && !p.devOptional && !installed(path))
      .map(([path]) => path);
    expect(devOnly).toEqual([]);
    expect(missing).toEqual([]);
    for (const tool of ['tsx', 'typescript', 'vitest', '@biomejs/biome', '.bin/tsx', '.bin/tsc']) {
      expect(installed(`node_modules/${tool}`), tool).toBe(false);
    }
  });

  it('ships compiled JavaScript without sources, tests or a .env file', () => {
    for (const absent of ['src', 'workers', 'migrations', 'test', '.env']) {
      expect(existsSync(`${app}/${absent}`), absent).toBe(false);
    }
    expect(filesUnder(`${app}/dist`).filter((f) => f.endsWith('.ts'))).toEqual([]);
    const [command, ...args] = image.entrypoint ?? [];
    expect(command).toBe('node');
    expect(args.join(' ')).not.toMatch(/tsx|--import|--loader/);
    expect(existsSync(`${app}/${args[0]}`)).toBe(true);
  });

  it('puts every compiled migration where the compiled migrator looks for them', () => {
    const migrator = `${app}/dist/src/db/migrator.js`;
    expect(existsSync(migrator)).toBe(true);
    // The expression src/db/migrator.ts evaluates, applied to where that file sits in the image.
    const looksIn = fileURLToPath(new URL('../../migrations', pathToFileURL(migrator)));
    const names = (dir: string, ext: string): string[] =>
      readdirSync(dir)
        .filter((f) => f.endsWith(ext))
        .map((f) => f.slice(0, -ext.length))
        .sort();
    expect(names(looksIn, '.js')).toEqual(names(`${ROOT}migrations`, '.ts'));
  });

  it('runs as a non-root user and serves the api role by default', () => {
    expect(image.user).toBeDefined();
    expect(['root', '0']).not.toContain(image.user);
    expect(image.cmd).toEqual(['api']);
    expect(image.exposed).toContain(image.env.HTTP_PORT);
  });

  it(
    'starts the api role, answers /healthz and /readyz, passes its health check and exits 0 on SIGTERM',
    async () => {
      // Made only now, not before the build: the harness's global setup of any other vitest run on this
      // machine drops every test database it finds, so a database made half a minute early may be gone.
      t = await createTestDatabase();
      const port = await freePort();
      // HTTP_HOST is left to the image (0.0.0.0), as `docker run -e` would leave it.
      const { HTTP_HOST: _fromExample, ...example } = exampleEnv();
      const env = containerEnv(image, {
        ...example,
        DATABASE_URL: t.appUrl,
        REDIS_URL: inject('services').redisUrl,
        HTTP_PORT: String(port),
      });
      const user = hostUserFor(image.user);
      const container = startContainer(image, ['api'], env, user);
      try {
        const base = `http://127.0.0.1:${port}`;
        await waitForHealthy(`${base}/healthz`, container);

        const ready = await fetch(`${base}/readyz`);
        const body = (await ready.json()) as { ready: boolean };
        expect(ready.status, JSON.stringify(body)).toBe(200);
        expect(body.ready).toBe(true);
        expect(await runHealthcheck(image, env, user)).toBe(0);

        container.child.kill('SIGTERM');
        const exit = await within(container.exited, STOPPED_WITHIN_MS);
        expect(
          exit,
          `still running ${STOPPED_WITHIN_MS} ms after SIGTERM\n${container.output()}`,
        ).toBeDefined();
        expect(exit, container.output()).toEqual({ code: 0, signal: null });
        // With nothing listening, the health check must fail: it checks the process, not itself.
        expect(await runHealthcheck(image, env, user)).not.toBe(0);
      } finally {
        if (container.child.exitCode === null && container.child.signalCode === null) {
          container.child.kill('SIGKILL');
        }
      }
    },
    HEALTHY_WITHIN_MS + STOPPED_WITHIN_MS + 15_000,
  );
});
