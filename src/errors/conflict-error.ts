/** The request is valid but clashes with the current state (HTTP 409). */
export class ConflictError extends Error {
  override readonly name = 'ConflictError';
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}
