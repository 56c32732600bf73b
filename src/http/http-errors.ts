/** Missing or unknown credentials (HTTP 401). */
export class UnauthorizedError extends Error {
  override readonly name = 'UnauthorizedError';
}

/** Known credentials without the scope the route needs (HTTP 403). */
export class ForbiddenError extends Error {
  override readonly name = 'ForbiddenError';
}
