/** Exit codes of the `consentcast` command (documented in README.md). */
export const EXIT = {
  ok: 0,
  /** Something failed while running (a database error, a failed migration). */
  failure: 1,
  /** Bad configuration or bad usage: nothing was done. */
  usage: 2,
  /** `ready`: a dependency is not ready. */
  notReady: 3,
} as const;
