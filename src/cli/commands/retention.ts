import { parseArgs } from 'node:util';
import { runRetention } from '../../consent/retention.js';
import type { Command } from '../command.js';
import { EXIT } from '../exit-codes.js';
import { operatorActor, UsageError, withDeps } from '../with-deps.js';

export const retention: Command = {
  name: 'retention',
  usage: 'retention run [--actor NAME]        delete consent evidence past its retention date (N11)',
  async run(args, env, out) {
    const [action, ...rest] = args;
    const { values } = parseArgs({ args: rest, options: { actor: { type: 'string' } }, strict: true });
    return withDeps(env, out, 'retention', async (deps) => {
      if (action !== 'run') throw new UsageError('usage: consentcast retention run [--actor NAME]');
      const result = await runRetention(deps.db, operatorActor(values.actor));
      out.line(
        `retention: deleted ${result.deleted} consent events past their date, ${result.idempotencyKeysDeleted} old idempotency records`,
      );
      out.result(result);
      return EXIT.ok;
    });
  },
};
