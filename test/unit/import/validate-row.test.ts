import { describe, expect, it } from 'vitest';
import { parseInstant } from '../../../src/domain/instant.js';
import type { SourceRecord } from '../../../src/import/import-row.js';
import { validateImportRow } from '../../../src/import/validate-row.js';

const notices = new Map([['v1', 'a'.repeat(64)]]);
const now = Date.parse('2025-06-01T12:00:00Z');
const at = (line: number, value: unknown): SourceRecord => ({ line, value });

function problemsOf(value: unknown, line = 7) {
  const result = validateImportRow(at(line, value), notices, now);
  if (result.ok) throw new Error('expected the row to be rejected');
  return result.problems;
}

describe('validating an import row', () => {
  it('when a row is complete, then it keeps the normalised fields, devices and consents', () => {
    const result = validateImportRow(
      at(3, {
        client_number: 'C-001',
        first_name: ' Jānis ',
        email: 'Janis@Example.LV',
        phone: '+371 2000 0001',
        locale: 'ru',
        birth_date: '1980-02-29',
        personal_code: '29028012345',
        attributes: { segment: 'gold', interests: ['travel'] },
        devices: [{ token: 'token-123456', platform: 'ios' }],
        consents: [
          {
            purpose: 'contests',
            channel: 'sms',
            status: 'granted',
            occurred_at: '2024-01-02T03:04:05.123456+02:00',
            notice_version: 'v1',
          },
          { purpose: 'feedback', channel: 'email', status: 'withdrawn', occurred_at: '2024-01-03T00:00:00Z' },
        ],
      }),
      notices,
      now,
    );
    expect(result).toEqual({
      ok: true,
      row: {
        line: 3,
        clientNumber: 'C-001',
        fields: {
          first_name: 'Jānis',
          email: 'janis@example.lv',
          phone: '+37120000001',
          locale: 'ru',
          birth_date: '1980-02-29',
          personal_code: '290280-12345',
          attributes: { segment: 'gold', interests: ['travel'] },
        },
        devices: [{ token: 'token-123456', platform: 'ios' }],
        consents: [
          {
            purpose: 'contests',
            channel: 'sms',
            action: 'grant',
            occurredAt: '2024-01-02T03:04:05.123456+02:00',
            noticeVersion: 'v1',
            noticeSha256: 'a'.repeat(64),
          },
          {
            purpose: 'feedback',
            channel: 'email',
            action: 'withdraw',
            occurredAt: '2024-01-03T00:00:00Z',
            noticeVersion: null,
            noticeSha256: null,
          },
        ],
      },
    });
  });

  it('when fields are absent, then they are not given; when null, they are cleared', () => {
    const result = validateImportRow(at(1, { client_number: 'C1', email: null }), notices, now);
    expect(result.ok && result.row.fields).toEqual({ email: null });
  });

  it('when several fields are invalid, then each is named with the line, and no value is echoed', () => {
    const row = {
      client_number: 'C 1',
      email: 'janis.at.example.lv',
      phone: '12345',
      birth_date: '2999-01-01',
      locale: 'de',
      personal_code: '1234',
      nickname: 'Jancis',
    };
    const problems = problemsOf(row, 12);
    expect(problems.map((p) => [p.line, p.field])).toEqual([
      [12, 'nickname'],
      [12, 'client_number'],
      [12, 'email'],
      [12, 'phone'],
      [12, 'locale'],
      [12, 'birth_date'],
      [12, 'personal_code'],
    ]);
    const text = JSON.stringify(problems);
    for (const value of ['C 1', 'janis.at.example.lv', '12345', '2999-01-01', 'Jancis']) {
      expect(text).not.toContain(value);
    }
  });

  it('when the client number is missing or not a string, then it is named', () => {
    expect(problemsOf({ email: 'a@b.lv' })).toEqual([
      { line: 7, field: 'client_number', message: 'is required' },
    ]);
    expect(problemsOf({ client_number: 12345 })[0]?.field).toBe('client_number');
  });

  it('when a field has the wrong JSON type, then it is named', () => {
    const problems = problemsOf({ client_number: 'C1', first_name: 5, locale: null, attributes: [1] });
    expect(problems.map((p) => p.field)).toEqual(['first_name', 'locale', 'attributes']);
  });

  it('when a value holds a NUL character, then it is refused (PostgreSQL cannot store it)', () => {
    expect(problemsOf({ client_number: 'C1', last_name: 'a\u0000b' }).map((p) => p.field)).toEqual([
      'last_name',
    ]);
  });

  it('when an attribute name is not a plain name, then the name is not echoed', () => {
    const problems = problemsOf({ client_number: 'C1', attributes: { 'janis@example.lv': 1, Segment: 'x' } });
    expect(problems.map((p) => p.field)).toEqual(['attributes/?', 'attributes/Segment']);
  });

  it('when the row is not an object, then the row itself is rejected', () => {
    expect(problemsOf([1, 2])).toEqual([{ line: 7, field: null, message: 'is not an object' }]);
  });
});

describe('validating the consents of a row', () => {
  const consent = (over: Record<string, unknown>) => ({
    client_number: 'C1',
    consents: [
      {
        purpose: 'service_offers',
        channel: 'email',
        status: 'granted',
        occurred_at: '2024-01-01T00:00:00Z',
        notice_version: 'v1',
        ...over,
      },
    ],
  });

  it('when the notice version is unknown, then the row is rejected naming notice_version', () => {
    expect(problemsOf(consent({ notice_version: 'v9' }))).toEqual([
      { line: 7, field: 'consents/0/notice_version', message: 'is not a known notice version' },
    ]);
  });

  it('when a grant names no notice, then it is rejected; a withdrawal needs none', () => {
    expect(problemsOf(consent({ notice_version: undefined }))[0]?.field).toBe('consents/0/notice_version');
    const ok = validateImportRow(
      at(1, consent({ status: 'withdrawn', notice_version: undefined })),
      notices,
      now,
    );
    expect(ok.ok).toBe(true);
  });

  it('when purpose, channel, status or time are wrong, then each is named', () => {
    const problems = problemsOf(
      consent({ purpose: 'spam', channel: 'fax', status: 'yes', occurred_at: '2024-02-31T00:00:00Z' }),
    );
    expect(problems.map((p) => p.field)).toEqual([
      'consents/0/purpose',
      'consents/0/channel',
      'consents/0/status',
      'consents/0/occurred_at',
    ]);
  });

  it('when an event lies in the future, then it is refused as the ledger would', () => {
    expect(problemsOf(consent({ occurred_at: '2025-06-01T12:10:00Z' }))).toEqual([
      { line: 7, field: 'consents/0/occurred_at', message: 'is in the future' },
    ]);
    expect(validateImportRow(at(1, consent({ occurred_at: '2025-06-01T12:04:00Z' })), notices, now).ok).toBe(
      true,
    );
  });

  it('when devices are malformed, then each problem is named by index', () => {
    const problems = problemsOf({
      client_number: 'C1',
      devices: [
        { token: 'short', platform: 'android' },
        { token: 'long-enough-token', platform: 'nokia' },
      ],
    });
    expect(problems.map((p) => p.field)).toEqual(['devices/0/token', 'devices/1/platform']);
  });
});

describe('reading a timestamp', () => {
  it('accepts ISO 8601 with a zone, and refuses what PostgreSQL would refuse or misread', () => {
    expect(parseInstant('2024-01-02T03:04:05Z')).toBe(Date.parse('2024-01-02T03:04:05Z'));
    expect(parseInstant('2024-01-02T03:04+02:00')).toBe(Date.parse('2024-01-02T01:04:00Z'));
    expect(parseInstant('2024-02-29T00:00:00.123456Z')).toBeDefined();
    for (const bad of [
      '2023-02-29T00:00:00Z',
      '2024-01-02T24:00:00Z',
      '2024-01-02 03:04:05Z',
      '2024-01-02T03:04:05',
      '2024-01-02',
      '2024-01-02T03:04:05+15:00',
      '0000-01-01T00:00:00Z',
    ]) {
      expect(parseInstant(bad), bad).toBeUndefined();
    }
  });
});
