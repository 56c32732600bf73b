import { type DestinationStream, type Logger, pino } from 'pino';
import type { LogLevel } from '../config/config.js';
import { scrubError, scrubText, scrubValue } from './scrub.js';

export type { Logger } from 'pino';

/**
 * Structured JSON logging that cannot carry personal data: every logged object is passed through
 * `scrubValue` (sensitive keys dropped, strings scrubbed), errors through `scrubError`, and the message
 * text through `scrubText`.
 */
export function createLogger(options: {
  level: LogLevel;
  name: string;
  destination?: DestinationStream;
}): Logger {
  return pino(
    {
      name: options.name,
      level: options.level,
      base: { pid: process.pid, role: options.name },
      timestamp: pino.stdTimeFunctions.isoTime,
      serializers: { err: scrubError, error: scrubError },
      formatters: {
        level: (label) => ({ level: label }),
        log: (object) => scrubValue(object) as Record<string, unknown>,
      },
      hooks: {
        logMethod(args, method) {
          const scrubbed = args.map((a) => (typeof a === 'string' ? scrubText(a) : a));
          return method.apply(this, scrubbed as Parameters<typeof method>);
        },
      },
    },
    options.destination,
  );
}
