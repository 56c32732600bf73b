import type { Deps } from '../deps.js';

/** Stops a started role gracefully: it finishes the work in flight, then closes what it opened. */
export type Stop = () => Promise<void>;

/**
 * Starts a process role (docs/architecture.md, "Roles") on dependencies already built, and returns its
 * graceful stop. The dependencies are closed by whoever built them, after the stop.
 */
export type StartRole = (deps: Deps) => Promise<Stop>;
