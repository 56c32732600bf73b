import { parseArgs } from 'node:util';
import { CHANNELS } from '../../domain/vocabulary.js';
import { emergencyResume, emergencyStop, type StopScope } from '../../ops/emergency-stop.js';
import type { Command } from '../command.js';
import { EXIT } from '../exit-codes.js';
import { UsageError } from '../usage-error.js';
import { operatorActor, withDeps } from '../with-deps.js';

/** Ops: stop all sending, or one channel's, at once (ordered by the database with every claim), or resume it. */
export const emergencyStopCommand: Command = {
  name: 'emergency-stop',
  usage:
    'emergency-stop [--resume] [--channel email|sms|push] [--reason R] [--actor NAME]\n      stop all sending (or one channel) at once, or resume it; recorded and audited',
  async run(args, env, out) {
    const { values } = parseArgs({
      args: [...args],
      options: {
        resume: { type: 'boolean' },
        channel: { type: 'string' },
        reason: { type: 'string' },
        actor: { type: 'string' },
      },
      strict: true,
    });
    const channel = values.channel;
    if (channel !== undefined && !CHANNELS.some((c) => c === channel))
      throw new UsageError(`--channel must be one of ${CHANNELS.join(', ')}`);
    const scope = (channel ?? 'all') as StopScope;
    return withDeps(env, out, 'emergency-stop', async (deps) => {
      const actor = operatorActor(values.actor);
      const state = values.resume
        ? await emergencyResume(deps, actor, values.reason, scope)
        : await emergencyStop(deps, actor, values.reason, scope);
      if (state.stops.length === 0) out.line('sending is running on every channel');
      for (const s of state.stops) {
        out.line(
          `sending is STOPPED on ${s.scope === 'all' ? 'every channel' : s.scope} (since ${s.stopped_at.toISOString()} by ${s.stopped_by})`,
        );
      }
      if (!state.changed) out.line('(it already was)');
      out.result(state);
      return EXIT.ok;
    });
  },
};
