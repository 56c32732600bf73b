/** The CLI's voice: plain lines for people, one JSON document with --json for scripts. */
export interface Output {
  readonly json: boolean;
  line(text: string): void;
  error(text: string): void;
  result(value: unknown): void;
}

export function createOutput(json: boolean, stdout = process.stdout, stderr = process.stderr): Output {
  return {
    json,
    line: (text) => {
      if (!json) stdout.write(`${text}\n`);
    },
    error: (text) => stderr.write(`${text}\n`),
    result: (value) => {
      if (json) stdout.write(`${JSON.stringify(value)}\n`);
    },
  };
}
