import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/logging/logger.js';
import { scrubText } from '../../../src/logging/scrub.js';

function capture(): { lines: string[]; stream: Writable } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { lines, stream };
}

describe('logging never carries personal data (N16)', () => {
  it('scrubs addresses, numbers, personal codes and tokens from free text', () => {
    const text =
      "550 5.1.1 <jane.doe@example.lv>: unknown; To '+37120000000' invalid; pk 010190-12345; token fcmAbCdEfGhIjKlMnOpQrStUv:APA91bHxYzAbCdEfGhIjKlMnOp";
    const out = scrubText(text);
    expect(out).not.toMatch(/jane|37120000000|010190|APA91/);
    expect(scrubText('call 29 123 456 or 2912-3456')).toBe('call [number] or [number]');
    expect(out).toContain('550 5.1.1');
  });

  it('drops sensitive fields by name and scrubs provider error messages inside logged errors', () => {
    const { lines, stream } = capture();
    const logger = createLogger({ level: 'info', name: 'test', destination: stream });
    const providerError = Object.assign(
      new Error("Invalid 'To' Phone Number: +3712999 9999 and jane@klix.app rejected"),
      { code: 21211, status: 400 },
    );
    logger.error(
      {
        err: providerError,
        messageId: 17,
        email: 'jane@klix.app',
        recipient: { firstName: 'Jāna', phone: '+37129999999' },
      },
      'send to jane@klix.app failed',
    );
    const line = lines.join('');
    expect(line).not.toMatch(/jane|Jāna|29999999|3712999|9999/);
    const parsed = JSON.parse(line) as {
      messageId: number;
      err: { code: number; status: number };
      msg: string;
    };
    expect(parsed.messageId).toBe(17);
    expect(parsed.err.code).toBe(21211);
    expect(parsed.err.status).toBe(400);
    expect(parsed.msg).toBe('send to [email] failed');
  });
});
