import { parseArgs } from 'node:util';
import { runRetention } from '../../consent/retention.js';
import type { Command } from '../command.js';
import { EXIT } from '../exit-codes.js';
import { UsageError } from '../usage-error.js';
import { operatorActor, withDeps } from '../with-deps.js';

export const retention: Command = {
  name: 'retention',
  usage: 'retention run [--actor NAME]        delete consent evidence past its retention date (N11)',
  async run(args, env, out) {
    const { values, positionals } = parseArgs({
      args: [...args],
      options: { actor: { type: 'string' } },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length !== 1 || positionals[0] !== 'run')
      throw new UsageError('expected the action: run');
    return withDeps(env, out, 'retention', async (deps) => {
      const result = await runRetention(deps.db, operatorActor(values.actor));
      out.line(
        `retention: deleted ${result.deleted} consent events past their date, ${result.idempotencyKeysDeleted} old idempotency records`,
      );
      out.result(result);
      return EXIT.ok;
    });
  },
};
