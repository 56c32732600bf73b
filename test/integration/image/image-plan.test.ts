import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDockerignore } from './dockerignore.js';
import { planImage } from './image-plan.js';

const dockerfile = (...lines: string[]): string => ['FROM node:24-bookworm-slim AS a', ...lines].join('\n');

describe('reading a Dockerfile for the image test', () => {
  it('joins continued lines and keeps the exec form of HEALTHCHECK, ENTRYPOINT and CMD', () => {
    const [stage] = planImage(
      dockerfile(
        'WORKDIR /app',
        'ENV A=1 B="two words"',
        'HEALTHCHECK --timeout=5s \\',
        '  CMD ["node", "-e", "process.exit(0)"]',
        'ENTRYPOINT ["node", "main.js"]',
      ),
    );
    expect(stage?.steps.map((s) => s.step)).toEqual([
      { kind: 'workdir', path: '/app' },
      {
        kind: 'env',
        pairs: [
          ['A', '1'],
          ['B', 'two words'],
        ],
      },
      { kind: 'healthcheck', healthcheck: { command: ['node', '-e', 'process.exit(0)'], timeoutMs: 5_000 } },
      { kind: 'entrypoint', command: ['node', 'main.js'] },
    ]);
  });

  it('refuses a RUN that is not npm, since it would run on the test machine', () => {
    expect(() => planImage(dockerfile('RUN rm -rf /usr/local/lib/node_modules/npm'))).toThrow(/only npm/);
    expect(() => planImage(dockerfile('RUN npm ci; rm -rf /'))).toThrow(/only npm/);
    expect(() => planImage(dockerfile('RUN npm ci && npm run build'))).not.toThrow();
  });

  it('refuses a shell-form ENTRYPOINT, which would not pass SIGTERM on', () => {
    expect(() => planImage(dockerfile('ENTRYPOINT node main.js'))).toThrow(/exec\) form/);
  });

  it('refuses instructions and flags it cannot reproduce instead of skipping them', () => {
    expect(() => planImage(dockerfile('ARG VERSION'))).toThrow(/ARG/);
    expect(() => planImage(dockerfile('COPY --chown=node src ./src'))).toThrow(/--chown/);
    expect(() => planImage(dockerfile('COPY --from=later /x ./x'))).toThrow(/not an earlier stage/);
  });
});

describe('the .dockerignore filter', () => {
  it('excludes a path when it or a parent matches, with ** crossing directories', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cc-dockerignore-'));
    try {
      writeFileSync(`${dir}/.dockerignore`, '# comment\nnode_modules\n/dist\n**/*.log\n.env\n');
      const ignored = loadDockerignore(dir);
      expect(ignored('node_modules/pg/index.js')).toBe(true);
      expect(ignored('dist')).toBe(true);
      expect(ignored('src/deep/debug.log')).toBe(true);
      expect(ignored('.env')).toBe(true);
      expect(ignored('.env.example')).toBe(false);
      expect(ignored('src/node_modules.ts')).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
