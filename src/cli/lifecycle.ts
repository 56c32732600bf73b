import type { Deps } from '../deps.js';
import { closeDeps } from '../deps.js';
import type { Stop } from '../roles/role.js';

/**
 * Runs a long-lived role until SIGTERM or SIGINT, then stops it and closes its dependencies. A second
 * signal, or a stop that takes longer than the grace period, exits at once.
 */
export async function runUntilSignal(
  deps: Deps,
  start: () => Promise<Stop>,
  graceMs = 25_000,
): Promise<number> {
  const stop = await start();
  return new Promise<number>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) {
        deps.logger.warn({ signal }, 'second signal: exiting now');
        resolve(1);
        return;
      }
      stopping = true;
      deps.logger.info({ signal }, 'stopping');
      const timer = setTimeout(() => {
        deps.logger.error({ graceMs }, 'stop took too long: exiting');
        resolve(1);
      }, graceMs);
      timer.unref();
      stop()
        .then(() => closeDeps(deps))
        .then(
          () => {
            deps.logger.info('stopped');
            resolve(0);
          },
          (err: unknown) => {
            deps.logger.error({ err }, 'error while stopping');
            resolve(1);
          },
        );
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
}
