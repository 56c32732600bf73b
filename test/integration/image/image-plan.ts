import { execForm, type Instruction, parseDockerfile, UnsupportedDockerfileError } from './dockerfile.js';

export interface Healthcheck {
  readonly command: readonly string[];
  readonly timeoutMs: number;
}

/** What one Dockerfile instruction does, checked before anything runs. */
export type Step =
  | { readonly kind: 'workdir'; readonly path: string }
  | { readonly kind: 'env'; readonly pairs: readonly (readonly [string, string])[] }
  | { readonly kind: 'user'; readonly user: string }
  | { readonly kind: 'expose'; readonly ports: readonly string[] }
  | { readonly kind: 'healthcheck'; readonly healthcheck: Healthcheck | undefined }
  | { readonly kind: 'entrypoint' | 'cmd'; readonly command: readonly string[] }
  | { readonly kind: 'label' }
  | {
      readonly kind: 'copy';
      /** An earlier stage, or undefined for the build context. */
      readonly from: string | undefined;
      readonly sources: readonly string[];
      readonly dest: string;
    }
  | { readonly kind: 'run'; readonly command: string; readonly npmCacheMount: boolean };

export interface PlannedStep {
  readonly line: number;
  /** The instruction as written, for timings and errors. */
  readonly text: string;
  readonly step: Step;
}

export interface StagePlan {
  readonly name: string;
  readonly base: string;
  readonly steps: readonly PlannedStep[];
}

export const NPM_CACHE_TARGET = '/root/.npm';
const FLAGS: Record<string, readonly string[]> = {
  COPY: ['from'],
  RUN: ['mount'],
  HEALTHCHECK: ['interval', 'timeout', 'start-period', 'start-interval', 'retries'],
};

function durationMs(line: number, text: string): number {
  const match = /^(\d+)(ms|s|m)$/.exec(text);
  if (!match?.[1]) throw new UnsupportedDockerfileError(line, `duration ${text}`);
  return Number(match[1]) * (match[2] === 'ms' ? 1 : match[2] === 's' ? 1_000 : 60_000);
}

function execOnly(instruction: Instruction, args = instruction.args): string[] {
  const form = execForm(instruction, args);
  if (!form) {
    // The shell form runs under `sh -c`, which does not pass SIGTERM on: the role could not stop cleanly.
    throw new UnsupportedDockerfileError(
      instruction.line,
      `${instruction.keyword} must use the JSON (exec) form`,
    );
  }
  return form;
}

function noVariables(instruction: Instruction): string {
  if (instruction.args.includes('$')) {
    throw new UnsupportedDockerfileError(instruction.line, `${instruction.keyword} with a variable`);
  }
  return instruction.args;
}

function envPairs(instruction: Instruction): [string, string][] {
  const pairs: [string, string][] = [];
  const pattern = /([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|[^\s"]*)(?:\s+|$)/y;
  const args = noVariables(instruction);
  while (pattern.lastIndex < args.length) {
    const match = pattern.exec(args);
    if (!match?.[1] || match[2] === undefined) {
      throw new UnsupportedDockerfileError(instruction.line, `ENV ${args} (write KEY=value pairs)`);
    }
    const raw = match[2];
    pairs.push([match[1], raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw]);
  }
  return pairs;
}

function healthcheck(instruction: Instruction): Healthcheck | undefined {
  if (instruction.args === 'NONE') return undefined;
  if (!instruction.args.startsWith('CMD ')) {
    throw new UnsupportedDockerfileError(instruction.line, `HEALTHCHECK ${instruction.args}`);
  }
  return {
    command: execOnly(instruction, instruction.args.slice(4).trim()),
    timeoutMs: durationMs(instruction.line, instruction.flags.get('timeout') ?? '30s'),
  };
}

function copy(instruction: Instruction, earlier: ReadonlySet<string>): Step {
  const parts = execForm(instruction) ?? instruction.args.split(/\s+/);
  const dest = parts.at(-1);
  const sources = parts.slice(0, -1);
  if (dest === undefined || sources.length === 0 || parts.some((p) => /[*?[$]/.test(p))) {
    throw new UnsupportedDockerfileError(
      instruction.line,
      `COPY ${instruction.args} (no globs or variables)`,
    );
  }
  const from = instruction.flags.get('from');
  if (from !== undefined && !earlier.has(from)) {
    throw new UnsupportedDockerfileError(instruction.line, `COPY --from=${from}: not an earlier stage`);
  }
  return { kind: 'copy', from, sources, dest };
}

/**
 * RUN executes on the test machine, as the user running the tests, so only npm commands are accepted:
 * a `RUN rm -rf /usr/...` meant for the image must never run here.
 */
function run(instruction: Instruction): Step {
  const { line, args } = instruction;
  const commands = args.split('&&').map((c) => c.trim());
  if (
    execForm(instruction) ||
    /[;|<>`$&\\\n]/.test(args.replaceAll('&&', '')) ||
    !commands.every((c) => /^npm\s/.test(c))
  ) {
    throw new UnsupportedDockerfileError(
      line,
      `RUN ${args}: only npm commands joined by && run outside Docker`,
    );
  }
  const mount = instruction.flags.get('mount');
  if (mount !== undefined) {
    const spec = new Map(mount.split(',').map((kv) => kv.split('=') as [string, string]));
    if (spec.get('type') !== 'cache' || spec.get('target') !== NPM_CACHE_TARGET || spec.size !== 2) {
      throw new UnsupportedDockerfileError(line, `RUN --mount=${mount}`);
    }
  }
  return { kind: 'run', command: args, npmCacheMount: mount !== undefined };
}

function step(instruction: Instruction, earlier: ReadonlySet<string>): Step {
  const { keyword, flags, args, line } = instruction;
  for (const flag of flags.keys()) {
    if (!FLAGS[keyword]?.includes(flag)) throw new UnsupportedDockerfileError(line, `${keyword} --${flag}`);
  }
  switch (keyword) {
    case 'WORKDIR':
      if (!noVariables(instruction).startsWith('/'))
        throw new UnsupportedDockerfileError(line, 'relative WORKDIR');
      return { kind: 'workdir', path: args };
    case 'ENV':
      return { kind: 'env', pairs: envPairs(instruction) };
    case 'USER':
      return { kind: 'user', user: noVariables(instruction) };
    case 'EXPOSE':
      return { kind: 'expose', ports: noVariables(instruction).split(/\s+/) };
    case 'LABEL':
      return { kind: 'label' };
    case 'HEALTHCHECK':
      return { kind: 'healthcheck', healthcheck: healthcheck(instruction) };
    case 'ENTRYPOINT':
      return { kind: 'entrypoint', command: execOnly(instruction) };
    case 'CMD':
      return { kind: 'cmd', command: execOnly(instruction) };
    case 'COPY':
      return copy(instruction, earlier);
    case 'RUN':
      return run(instruction);
    default:
      throw new UnsupportedDockerfileError(line, keyword);
  }
}

/** Reads a Dockerfile into checked steps; throws before anything runs if any step is not understood. */
export function planImage(dockerfile: string): StagePlan[] {
  const earlier = new Set<string>();
  return parseDockerfile(dockerfile).map((stage) => {
    if (earlier.has(stage.base))
      throw new Error(`stage ${stage.name}: FROM an earlier stage is not supported`);
    const steps = stage.instructions.map((instruction) => {
      const flags = [...instruction.flags].map(([k, v]) => `--${k}=${v} `).join('');
      const text = `${instruction.keyword} ${flags}${instruction.args}`;
      return { line: instruction.line, text, step: step(instruction, earlier) };
    });
    earlier.add(stage.name);
    return { name: stage.name, base: stage.base, steps };
  });
}
