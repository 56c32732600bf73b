/** Where the CLI writes text: process.stdout and process.stderr, or a test's collector. */
export interface TextSink {
  write(text: string): unknown;
}

/** The CLI's voice: plain lines for people, one JSON document with --json for scripts. */
export interface Output {
  readonly json: boolean;
  line(text: string): void;
  error(text: string): void;
  result(value: unknown): void;
}

export function createOutput(
  json: boolean,
  stdout: TextSink = process.stdout,
  stderr: TextSink = process.stderr,
): Output {
  return {
    json,
    line: (text) => {
      if (!json) stdout.write(`${text}\n`);
    },
    error: (text) => {
      stderr.write(`${text}\n`);
    },
    result: (value) => {
      if (json) stdout.write(`${JSON.stringify(value)}\n`);
    },
  };
}
