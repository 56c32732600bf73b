import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSchemaTypes, parseEnumCheck } from '../../../src/db/schema-types.js';
import { ROOT } from '../../support/service-env.js';
import { createTestDatabase, ownerKysely, type TestDatabase } from '../../support/test-db.js';

describe('the Kysely Database types', () => {
  let target: TestDatabase;
  beforeAll(async () => {
    target = await createTestDatabase();
  });
  afterAll(() => target.drop());

  it('match the migrated schema exactly (run `npm run db:types` after changing a migration)', async () => {
    const owner = ownerKysely(target.ownerUrl);
    try {
      const generated = await generateSchemaTypes(owner);
      expect(generated).toBe(readFileSync(`${ROOT}src/db/schema.ts`, 'utf8'));
    } finally {
      await owner.destroy();
    }
  });

  it('turn CHECK (x IN (...)) into unions and ignore other checks', () => {
    expect(parseEnumCheck("CHECK ((channel = ANY (ARRAY['email'::text, 'sms'::text])))")).toEqual({
      column: 'channel',
      values: ['email', 'sms'],
    });
    expect(parseEnumCheck('CHECK ((priority > 0))')).toBeUndefined();
  });
});
