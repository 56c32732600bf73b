import type { Env } from '../config/config.js';
import type { Output } from './output.js';

/** One `consentcast <name>` command. Commands live one per file in src/cli/commands/. */
export interface Command {
  readonly name: string;
  /** One line for the usage text, e.g. `migrate [latest|down|zero|status]   apply or inspect migrations`. */
  readonly usage: string;
  run(args: readonly string[], env: Env, out: Output): Promise<number>;
}
