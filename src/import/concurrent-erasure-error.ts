/**
 * A person of the batch was erased while the batch was being written (the tombstone appeared after
 * the batch checked for it). The batch is rolled back and written again, which then rejects the row.
 */
export class ConcurrentErasureError extends Error {
  override readonly name = 'ConcurrentErasureError';
}
