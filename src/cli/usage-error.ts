/** Bad arguments: printed as one line naming the command, exit code 2; nothing was done. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
