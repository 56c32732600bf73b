/**
 * The file as a whole cannot be imported (a CSV header that names unknown columns, no header at all):
 * nothing was written. The message names columns and lines, never values.
 */
export class ImportFileError extends Error {
  override readonly name = 'ImportFileError';
}
