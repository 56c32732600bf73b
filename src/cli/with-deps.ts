import { userInfo } from 'node:os';
import type { Actor } from '../auth/actor.js';
import { type Env, formatProblems, loadConfig } from '../config/config.js';
import { buildDeps, closeDeps, type Deps } from '../deps.js';
import { ConflictError } from '../errors/conflict-error.js';
import { NotFoundError } from '../errors/not-found-error.js';
import { ValidationError } from '../errors/validation-error.js';
import { createLogger } from '../logging/logger.js';
import { EXIT } from './exit-codes.js';
import type { Output } from './output.js';
import { UsageError } from './usage-error.js';

/**
 * Runs an operator command with dependencies built from the configuration, and turns the expected
 * failures into one clear line and an exit code (2: usage/config or invalid input, 1: not found,
 * conflict or failure).
 */
export async function withDeps(
  env: Env,
  out: Output,
  role: string,
  work: (deps: Deps) => Promise<number>,
): Promise<number> {
  const loaded = loadConfig(env);
  if (!loaded.ok) {
    out.error(formatProblems(loaded.problems));
    return EXIT.usage;
  }
  // logs go to stderr: stdout carries only the command's output (`--json` documents are parsed by scripts)
  const logger = createLogger({ level: 'warn', name: role, destination: process.stderr });
  const deps = buildDeps(loaded.config, { role, logger });
  try {
    return await work(deps);
  } catch (err) {
    if (err instanceof UsageError) {
      out.error(`${role}: ${err.message}`);
      return EXIT.usage;
    }
    if (err instanceof ValidationError) {
      for (const f of err.fields) out.error(`${role}: ${f.field}: ${f.message}`);
      return EXIT.usage;
    }
    if (err instanceof NotFoundError || err instanceof ConflictError) {
      out.error(`${role}: ${err.message}`);
      return EXIT.failure;
    }
    throw err;
  } finally {
    await closeDeps(deps);
  }
}

/** The operator: `--actor NAME`, else the login name. Recorded in the audit log and the ledger. */
export function operatorActor(actor: string | undefined): Actor {
  const id = actor ?? userInfo().username;
  if (!/^[A-Za-z0-9._@-]{1,100}$/.test(id))
    throw new UsageError('--actor must be 1-100 letters, digits, . _ @ -');
  return { type: 'operator', id };
}
