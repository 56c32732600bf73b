import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface BuildInfo {
  /** `version` of consentcast's package.json, or `unknown` when none is found. */
  readonly version: string;
  /** The Node.js version without the `v`, e.g. `20.20.2`. */
  readonly node: string;
}

/**
 * The version comes from the nearest package.json named `consentcast` above this file: the module
 * sits at `src/metrics/` under tsx and at `dist/src/metrics/` in the image (package.json in /app),
 * so a fixed relative path would be right in one of them only.
 */
function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
      if (
        typeof parsed === 'object' &&
        parsed !== null &&
        'name' in parsed &&
        parsed.name === 'consentcast' &&
        'version' in parsed &&
        typeof parsed.version === 'string'
      ) {
        return parsed.version;
      }
    }
    const parent = dirname(dir);
    if (parent === dir) return 'unknown';
    dir = parent;
  }
}

let cached: BuildInfo | undefined;

export function buildInfo(): BuildInfo {
  cached ??= { version: packageVersion(), node: process.versions.node };
  return cached;
}
