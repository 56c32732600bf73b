import { describe, expect, it } from 'vitest';
import { parseImportArgs } from '../../../src/cli/commands/import.js';

describe('consentcast import arguments', () => {
  it('when options are given, then they are read; the format follows the file name', () => {
    expect(
      parseImportArgs(['people.csv', '--dry-run', '--actor', 'anna.k', '--batch', '500', '--parallel', '3']),
    ).toEqual({
      file: 'people.csv',
      format: 'csv',
      dryRun: true,
      actor: 'anna.k',
      batchSize: 500,
      parallel: 3,
    });
    expect(
      parseImportArgs(['-', '--format', 'ndjson', '--actor', 'ops', '--errors', 'e.ndjson']),
    ).toMatchObject({
      file: '-',
      format: 'ndjson',
      errorsFile: 'e.ndjson',
    });
  });

  it('when something is wrong, then a usage problem is returned', () => {
    expect(parseImportArgs([])).toMatch(/which file/);
    expect(parseImportArgs(['-', '--actor', 'x'])).toMatch(/standard input needs --format/);
    expect(parseImportArgs(['people.txt', '--actor', 'x'])).toMatch(/cannot tell the format/);
    expect(parseImportArgs(['a.csv', '--format', 'xml', '--actor', 'x'])).toMatch(/--format/);
    expect(parseImportArgs(['a.csv', '--batch', '0', '--actor', 'x'])).toMatch(/--batch/);
    expect(parseImportArgs(['a.csv', '--parallel', '9', '--actor', 'x'])).toMatch(/--parallel/);
    expect(parseImportArgs(['a.csv', '--actor', 'two words'])).toMatch(/--actor/);
    expect(parseImportArgs(['a.csv', 'b.csv', '--actor', 'x'])).toMatch(/one file/);
    expect(parseImportArgs(['a.csv', '--force', '--actor', 'x'])).toMatch(/unknown option --force/);
  });
});
