import { parseArgs } from 'node:util';
import { emergencyResume, emergencyStop } from '../../ops/emergency-stop.js';
import type { Command } from '../command.js';
import { EXIT } from '../exit-codes.js';
import { operatorActor, withDeps } from '../with-deps.js';

/** Ops: pause all sending on every channel at once (BullMQ pause of the send queues), or resume it. */
export const emergencyStopCommand: Command = {
  name: 'emergency-stop',
  usage:
    'emergency-stop [--resume] [--reason R] [--actor NAME]\n      stop all sending on every channel at once (or resume it); recorded and audited',
  async run(args, env, out) {
    const { values } = parseArgs({
      args: [...args],
      options: { resume: { type: 'boolean' }, reason: { type: 'string' }, actor: { type: 'string' } },
      strict: true,
    });
    return withDeps(env, out, 'emergency-stop', async (deps) => {
      const actor = operatorActor(values.actor);
      const state = values.resume
        ? await emergencyResume(deps, actor, values.reason)
        : await emergencyStop(deps, actor, values.reason);
      out.line(
        state.stopped
          ? `sending is STOPPED on every channel (since ${state.stopped_at?.toISOString()} by ${state.stopped_by})`
          : 'sending is running on every channel',
      );
      if (!state.changed) out.line('(it already was)');
      out.result(state);
      return EXIT.ok;
    });
  },
};
