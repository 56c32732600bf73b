import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../support/service-env.js';

/** Runs the project's own Biome configuration over a fixture folder; returns exit code and output. */
function lintFixture(fixture: string): { code: number; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'cc-lint-'));
  try {
    const config = JSON.parse(readFileSync(`${ROOT}biome.json`, 'utf8')) as Record<string, unknown> & {
      files: Record<string, unknown>;
    };
    // Same rules; only the repository-specific file selection is dropped.
    config.vcs = { enabled: false };
    delete config.files.includes;
    writeFileSync(join(dir, 'biome.json'), JSON.stringify(config));
    cpSync(`${ROOT}test/fixtures/lint/${fixture}`, join(dir, fixture), { recursive: true });
    try {
      const output = execFileSync(`${ROOT}node_modules/.bin/biome`, ['lint', '.'], {
        cwd: dir,
        encoding: 'utf8',
        stdio: 'pipe',
      });
      return { code: 0, output };
    } catch (err) {
      const e = err as { status: number; stdout: string; stderr: string };
      return { code: e.status, output: `${e.stdout}${e.stderr}` };
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('the lint step', () => {
  it('fails on a circular import', () => {
    const result = lintFixture('cycle');
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('lint/suspicious/noImportCycles');
  });

  it('fails on an explicit any', () => {
    const result = lintFixture('any');
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('lint/suspicious/noExplicitAny');
  });
});
