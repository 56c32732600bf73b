import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../../src/cli/commands/index.js';
import { runCli } from '../../../src/cli/main.js';
import type { Env } from '../../../src/config/config.js';

/**
 * Usage is settled before configuration: the environment these commands get throws at the first
 * look, so a command that reached for its configuration (or anything built from it: a pool, Redis)
 * would fail the test instead of answering. In process: a process per case would cost a tsx start
 * each; test/integration/cli/config-errors.test.ts runs the real entry point once.
 */
const untouchable: Env = new Proxy<Record<string, string | undefined>>(
  {},
  {
    get: (_target, key) => {
      throw new Error(`the environment was read (${String(key)})`);
    },
    has: () => {
      throw new Error('the environment was read');
    },
    ownKeys: () => {
      throw new Error('the environment was read');
    },
  },
);

async function cli(args: readonly string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, untouchable, {
    stdout: {
      write: (text: string) => {
        stdout += text;
      },
    },
    stderr: {
      write: (text: string) => {
        stderr += text;
      },
    },
  });
  return { code, stdout, stderr };
}

/**
 * For each command: arguments that lead up to an option (an action, an id), and an option that takes
 * a value, if the command has one. A new command needs a row here (the first test says so).
 */
const CASES: Readonly<Record<string, { readonly before: readonly string[]; readonly valued?: string }>> = {
  migrate: { before: ['status'] },
  ready: { before: [] },
  api: { before: [] },
  'campaign-runner': { before: [] },
  scheduler: { before: [] },
  email: { before: [] },
  sms: { before: [] },
  push: { before: [] },
  maintenance: { before: [] },
  all: { before: [] },
  'api-key': { before: ['list'], valued: '--actor' },
  consent: { before: ['withdraw', 'X'], valued: '--reason' },
  campaign: { before: ['status', '1'], valued: '--reason' },
  'emergency-stop': { before: [], valued: '--channel' },
  import: { before: ['-'], valued: '--format' },
  retention: { before: ['run'], valued: '--actor' },
  message: { before: ['list'], valued: '--status' },
  staff: { before: ['list'], valued: '--actor' },
};

const pointer = (name: string) => `(consentcast ${name} --help shows the usage)`;

describe('consentcast usage', () => {
  it('has a row here for every command of the command table', () => {
    expect(Object.keys(CASES).sort()).toEqual(COMMANDS.map((c) => c.name).sort());
  });

  for (const { name } of COMMANDS) {
    const { before, valued } = CASES[name] ?? { before: [] };

    it(`${name} --help prints its usage on stdout and exits 0, without configuration`, async () => {
      for (const args of [
        [name, '--help'],
        [name, ...before, '-h', '--json'],
        ['help', name],
      ]) {
        const result = await cli(args);
        expect(result, args.join(' ')).toMatchObject({ code: 0, stderr: '' });
        expect(result.stdout).toMatch(new RegExp(`^usage: consentcast ${name}\\b`));
        expect(result.stdout).toMatch(
          /exit codes: 0 ok, 1 failure, 2 bad configuration or usage, 3 not ready/,
        );
      }
    });

    it(`${name} with an unknown option is one line on stderr and exit code 2`, async () => {
      for (const args of [
        [name, ...before, '--bogus'],
        [name, '--bogus', ...before],
      ]) {
        const result = await cli(args);
        expect(result, args.join(' ')).toEqual({
          code: 2,
          stdout: '',
          stderr: `consentcast ${name}: unknown option --bogus ${pointer(name)}\n`,
        });
      }
    });

    if (valued !== undefined) {
      it(`${name} ${valued} without its value is one line on stderr and exit code 2`, async () => {
        expect(await cli([name, ...before, valued])).toEqual({
          code: 2,
          stdout: '',
          stderr: `consentcast ${name}: ${valued} needs a value ${pointer(name)}\n`,
        });
        // followed by another option: that is not taken for the value
        const ambiguous = await cli([name, ...before, valued, '--bogus']);
        expect(ambiguous.code).toBe(2);
        expect(ambiguous.stderr).toMatch(new RegExp(`^consentcast ${name}: ${valued} needs a value .*\\n$`));
      });
    }
  }

  it('consentcast --help and help list every command on stdout and exit 0', async () => {
    for (const args of [['--help'], ['help'], ['-h']]) {
      const result = await cli(args);
      expect(result.code).toBe(0);
      for (const { name } of COMMANDS) expect(result.stdout).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
    }
  });

  it('no command, an unknown command, an unknown action or an extra argument are one line and exit code 2', async () => {
    const expected: readonly [readonly string[], string][] = [
      [[], 'consentcast: which command? (consentcast --help lists them)'],
      [['frobnicate'], 'consentcast: unknown command "frobnicate" (consentcast --help lists the commands)'],
      [
        ['help', 'frobnicate'],
        'consentcast: unknown command "frobnicate" (consentcast --help lists the commands)',
      ],
      [['campaign', 'launch', '1'], `consentcast campaign: expected an action: create, preview, status,`],
      [['consent', 'grant', 'X'], `consentcast consent: expected the action: withdraw ${pointer('consent')}`],
      [['api-key'], `consentcast api-key: expected an action: create, list, revoke ${pointer('api-key')}`],
      [['migrate', 'sideways'], `consentcast migrate: expected one action: latest, down, zero, status`],
      [['ready', 'now'], `consentcast ready: unexpected argument "now" ${pointer('ready')}`],
      [['import', 'a.csv', 'b.csv'], `consentcast import: give one file (or - for standard input)`],
      [['emergency-stop', '--resume=yes'], `consentcast emergency-stop: --resume takes no value`],
    ];
    for (const [args, line] of expected) {
      const result = await cli(args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr.endsWith('\n') && result.stderr.split('\n').length).toBe(2);
      expect(result.stderr.startsWith(line), `${result.stderr} should start with ${line}`).toBe(true);
    }
  });
});
