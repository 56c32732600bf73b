import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDeps, closeDeps } from '../../../src/deps.js';
import { createLogger } from '../../../src/logging/logger.js';
import { testConfig } from '../../support/test-app.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';
import { testRedisPrefix } from '../../support/test-redis.js';

/**
 * A command that opened the queues and then fails at once closes its dependencies while the
 * BullMQ queues are still starting. Their INFO then fails with EPIPE or "Connection is closed"; that
 * is expected at shutdown and must not be logged as a Redis problem (scripts read the command's
 * stderr: one line, the error).
 */
describe('closing dependencies right after building them', () => {
  let t: TestDatabase;
  const redis = testRedisPrefix();
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(async () => {
    await redis.clean();
    await t.drop();
  });

  it('logs nothing, whatever state the queues were in', async () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const config = testConfig(t, redis.url, { QUEUE_PREFIX: redis.prefix });
    // Close at once, after one tick, and after a few milliseconds: the queues' INFO is then not yet
    // written, written and unanswered, or answered.
    const delays = [0, 0, 1, 2, 3, 5, 8];
    for (let round = 0; round < 6; round++) {
      for (const ms of delays) {
        const logger = createLogger({ level: 'warn', name: 'close-test', destination });
        const deps = buildDeps(config, { role: 'close-test', logger });
        // the queues open on first use (a command that needs them); this one opens them at once
        expect(deps.queues.size).toBeGreaterThan(0);
        if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
        await closeDeps(deps);
      }
    }
    // a late error event would arrive after close returns
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(lines).toEqual([]);
  });
});
