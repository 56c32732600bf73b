/** One Dockerfile instruction, continuation lines joined. */
export interface Instruction {
  /** 1-based line where the instruction starts, for error messages. */
  readonly line: number;
  /** Upper-case: RUN, COPY, ... */
  readonly keyword: string;
  /** Leading `--name=value` options, e.g. COPY --from, RUN --mount, HEALTHCHECK --interval. */
  readonly flags: ReadonlyMap<string, string>;
  /** Everything after the flags. */
  readonly args: string;
}

export interface Stage {
  readonly name: string;
  readonly base: string;
  readonly instructions: readonly Instruction[];
}

/** Thrown for any Dockerfile the image test cannot reproduce faithfully: better loud than approximate. */
export class UnsupportedDockerfileError extends Error {
  override readonly name = 'UnsupportedDockerfileError';
  constructor(line: number, message: string) {
    super(`Dockerfile line ${line}: ${message} (extend test/integration/image to support it)`);
  }
}

function logicalLines(text: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  let current: { line: number; text: string } | undefined;
  text.split('\n').forEach((raw, index) => {
    const trimmed = raw.trim();
    // Comments and blank lines end nothing: Docker skips them inside a continued instruction too.
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const continued = trimmed.endsWith('\\');
    const body = continued ? trimmed.slice(0, -1).trim() : trimmed;
    current = current
      ? { line: current.line, text: `${current.text} ${body}` }
      : { line: index + 1, text: body };
    if (!continued) {
      out.push(current);
      current = undefined;
    }
  });
  if (current) out.push(current);
  return out;
}

function parseInstruction(line: number, text: string): Instruction {
  const keyword = /^\S+/.exec(text)?.[0] ?? '';
  let rest = text.slice(keyword.length).trimStart();
  const flags = new Map<string, string>();
  for (let flag = /^--(\S+)/.exec(rest); flag?.[1]; flag = /^--(\S+)/.exec(rest)) {
    const eq = flag[1].indexOf('=');
    if (eq < 1) throw new UnsupportedDockerfileError(line, `flag --${flag[1]} without a value`);
    flags.set(flag[1].slice(0, eq), flag[1].slice(eq + 1));
    rest = rest.slice(flag[0].length).trimStart();
  }
  return { line, keyword: keyword.toUpperCase(), flags, args: rest };
}

/** Splits a Dockerfile into stages; each FROM starts one. */
export function parseDockerfile(text: string): Stage[] {
  const stages: { name: string; base: string; instructions: Instruction[] }[] = [];
  for (const { line, text: body } of logicalLines(text)) {
    const instruction = parseInstruction(line, body);
    if (instruction.keyword === 'FROM') {
      if (instruction.flags.size > 0) throw new UnsupportedDockerfileError(line, 'FROM with flags');
      const match = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args);
      if (!match?.[1]) throw new UnsupportedDockerfileError(line, `FROM ${instruction.args}`);
      stages.push({ name: match[2] ?? String(stages.length), base: match[1], instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) throw new UnsupportedDockerfileError(line, `${instruction.keyword} before FROM`);
    stage.instructions.push(instruction);
  }
  return stages;
}

/** The JSON (exec) form of RUN, CMD, ENTRYPOINT or HEALTHCHECK CMD, or undefined for the shell form. */
export function execForm(
  instruction: Pick<Instruction, 'line' | 'args'>,
  args = instruction.args,
): string[] | undefined {
  if (!args.startsWith('[')) return undefined;
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((p) => typeof p === 'string')) {
    throw new UnsupportedDockerfileError(instruction.line, `expected a JSON array of strings: ${args}`);
  }
  return parsed;
}
