import { describe, expect, it } from 'vitest';
import { copyField, copyLine } from '../../../src/import/copy-text.js';

describe('COPY text', () => {
  it('escapes backslash, tab, newline and carriage return, and writes NULL as \\N', () => {
    expect(copyField('a\\b\tc\nd\re')).toBe('a\\\\b\\tc\\nd\\re');
    expect(copyField(null)).toBe('\\N');
    expect(copyField('\\N')).toBe('\\\\N');
    expect(copyField(42)).toBe('42');
    expect(copyLine(['x', null, 3])).toBe('x\t\\N\t3\n');
  });
});
