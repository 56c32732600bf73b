import { existsSync, readFileSync } from 'node:fs';

function escapeRegExp(text: string): string {
  return text.replace(/[.+^${}()|\\]/g, '\\$&');
}

/** Docker's pattern syntax: `*` and `?` stop at `/`, `**` crosses directories, a leading `/` is the root. */
function toRegExp(pattern: string): RegExp {
  if (/[[\]]/.test(pattern))
    throw new Error(`.dockerignore: character classes are not supported: ${pattern}`);
  const cleaned = pattern.replace(/^\/+/, '').replace(/\/+$/, '');
  let source = '';
  for (let i = 0; i < cleaned.length; i++) {
    const char = cleaned.charAt(i);
    if (char === '*' && cleaned.charAt(i + 1) === '*') {
      const slash = cleaned.charAt(i + 2) === '/';
      source += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else source += escapeRegExp(char);
  }
  return new RegExp(`^${source}$`);
}

/**
 * The build context's filter: whether a path (relative to the context, `/`-separated) is excluded.
 * Like Docker, a path is excluded when it or a parent directory matches. `!` exceptions are refused
 * rather than half-supported.
 */
export function loadDockerignore(contextDir: string): (relativePath: string) => boolean {
  const file = `${contextDir}/.dockerignore`;
  const patterns = existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l !== '' && !l.startsWith('#'))
    : [];
  const exception = patterns.find((p) => p.startsWith('!'));
  if (exception) throw new Error(`.dockerignore: exceptions are not supported: ${exception}`);
  const rules = patterns.map(toRegExp);
  return (relativePath) => {
    const parts = relativePath.split('/');
    return parts.some((_, i) => {
      const prefix = parts.slice(0, i + 1).join('/');
      return rules.some((rule) => rule.test(prefix));
    });
  };
}
