export interface FieldProblem {
  /** Where, as a path: `body/email`, `row 17/phone`. */
  readonly field: string;
  readonly message: string;
}

/** Input that passed the schema but not the rules (HTTP 400). Names every invalid field. */
export class ValidationError extends Error {
  override readonly name = 'ValidationError';
  constructor(readonly fields: readonly FieldProblem[]) {
    super(fields.map((f) => `${f.field}: ${f.message}`).join('; '));
  }
}
