import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The shape of the house (docs/architecture.md), read from the source text: Biome's noImportCycles
 * does not see type-only imports, so the import graph is built here with them. No dependency: a
 * regular expression per import form, and a depth-first search.
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Every .ts file under these folders, relative to the repository root (`src/http/app.ts`). */
function sourcesUnder(...folders: readonly string[]): string[] {
  return folders.flatMap((folder) =>
    readdirSync(join(ROOT, folder), { recursive: true, encoding: 'utf8' })
      .filter((name) => name.endsWith('.ts'))
      .map((name) => join(folder, name)),
  );
}

const FILES = sourcesUnder('src', 'workers');
const TEXT = new Map(FILES.map((file) => [file, readFileSync(join(ROOT, file), 'utf8')]));
const text = (file: string): string => TEXT.get(file) ?? '';

/** Every form of import whose target the graph needs, type-only and over several lines included. */
const SPECIFIER = new RegExp(
  [
    /^\s*(?:import|export)\s[^;'"`]*?\bfrom\s*['"]([^'"]+)['"]/.source, // import … from '…', export … from '…'
    /^\s*import\s*['"]([^'"]+)['"]/.source, // import '…'
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/.source, // import('…')
  ].join('|'),
  'gm',
);

/** The files of the repository that `file` imports: relative specifiers, whose `.js` names the `.ts` source. */
function importsOf(file: string, source = text(file)): string[] {
  const targets: string[] = [];
  for (const match of source.matchAll(SPECIFIER)) {
    const specifier = match[1] ?? match[2] ?? match[3];
    if (specifier === undefined || !specifier.startsWith('.')) continue;
    const target = relative(ROOT, resolve(ROOT, dirname(file), specifier)).replace(/\.js$/, '.ts');
    if (TEXT.has(target)) targets.push(target);
  }
  return targets;
}

/** Each edge back into the current path of a depth-first search closes a cycle: the path round it. */
function cyclesOf(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'on path' | 'done'>();
  const path: string[] = [];
  const visit = (node: string): void => {
    state.set(node, 'on path');
    path.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'on path') cycles.push([...path.slice(path.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    path.pop();
    state.set(node, 'done');
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  return cycles;
}

const GRAPH = new Map(FILES.map((file) => [file, importsOf(file)]));
const importersOf = (target: (file: string) => boolean): [string, string][] =>
  [...GRAPH].flatMap(([file, targets]) => targets.filter(target).map((t): [string, string] => [file, t]));

describe('the import graph of src/ and workers/', () => {
  it('is read with type-only, multi-line and dynamic imports', () => {
    const source = [
      "import type { A } from './context.js';",
      'import {\n  b,\n  type C,\n} from "./auth.js";',
      "export type { D } from './schemas.js';",
      "const e = await import('./validation.js');",
      "import { f } from 'fastify';",
    ].join('\n');
    expect(importsOf('src/http/x.ts', source)).toEqual([
      'src/http/context.ts',
      'src/http/auth.ts',
      'src/http/schemas.ts',
      'src/http/validation.ts',
    ]);
    expect(GRAPH.get('src/http/routes.ts')).toContain('src/http/context.ts');
  });

  it('finds a cycle when there is one', () => {
    const graph = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a']],
    ]);
    expect(cyclesOf(graph)).toEqual([['a', 'b', 'c', 'a']]);
  });

  it('has no cycle, type-only imports included', () => {
    expect(cyclesOf(GRAPH).map((cycle) => cycle.join(' → '))).toEqual([]);
  });
});

describe('the web layer', () => {
  const routeModules = FILES.filter((file) => file.endsWith('.routes.ts'));

  it('keeps SQL out of route modules: a query is a repository function', () => {
    expect(routeModules.length).toBeGreaterThan(15);
    const sql = /\b(?:selectFrom|insertInto|updateTable|deleteFrom)\(|\bsql(?:<[^`]*>)?`/;
    expect(routeModules.filter((file) => sql.test(text(file)))).toEqual([]);
  });

  it('declares routes in *.routes.ts modules only', () => {
    const route = /\.(?:get|post|put|patch|delete|head|options|route)\(\s*['"`]\//;
    const elsewhere = FILES.filter((file) => !file.endsWith('.routes.ts') && route.test(text(file)));
    expect(elsewhere).toEqual([]);
  });

  it('registers every route module from src/http/routes.ts alone', () => {
    const importers = importersOf((target) => target.endsWith('.routes.ts'))
      .filter(([file]) => file !== 'src/http/routes.ts')
      .map(([file, target]) => `${file} → ${target}`);
    expect(importers).toEqual([]);
    const registered = new Set(GRAPH.get('src/http/routes.ts'));
    expect(routeModules.filter((file) => !registered.has(file))).toEqual([]);
  });
});

describe('the process roles', () => {
  const isRole = (file: string): boolean => file.startsWith('src/roles/') && file !== 'src/roles/role.ts';

  it('import no other role: shared helpers live where they belong (all.ts composes the roles)', () => {
    const crossings = importersOf(isRole)
      .filter(([file]) => isRole(file) && file !== 'src/roles/all.ts')
      .map(([file, target]) => `${file} → ${target}`);
    expect(crossings).toEqual([]);
  });

  it('are started by the CLI only', () => {
    const importers = importersOf(isRole)
      .filter(([file]) => !file.startsWith('src/roles/') && !file.startsWith('src/cli/'))
      .map(([file, target]) => `${file} → ${target}`);
    expect(importers).toEqual([]);
  });

  it('look queues up through queueOf, not deps.queues.get and a throw of their own', () => {
    const lookups = FILES.filter(
      (file) => file !== 'src/queue/queues.ts' && /\.queues\.get\(/.test(text(file)),
    );
    expect(lookups).toEqual([]);
  });
});
