import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../support/test-app.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-db.js';
import { distinctivePii, fileAndExecute, type Pii, type Seeded, seedRichPerson } from './seed.js';

type Row = Record<string, unknown>;
type ExportDoc = Record<string, unknown> & { profile: Row };

/** A column that points at the person: directly (their id) or through one of their messages. */
interface Reference {
  readonly table: string;
  readonly column: string;
  readonly via: 'recipient' | 'message';
}

/**
 * Every column in the schema that refers to a person: the id of recipients itself, a foreign key to
 * recipients(id) or to messages(id), or a column named recipient_id without one (the audit log keeps no
 * foreign key). Read from pg_catalog: information_schema hides constraints of tables the role does not own.
 */
async function referencesToThePerson(t: TestDatabase): Promise<Reference[]> {
  const { rows } = await sql<{ table_name: string; column_name: string; target: string | null }>`
    SELECT cl.relname AS table_name, a.attname AS column_name, ref.relname AS target
      FROM pg_constraint con
      JOIN pg_class cl ON cl.oid = con.conrelid
      JOIN pg_namespace ns ON ns.oid = cl.relnamespace
      JOIN pg_class ref ON ref.oid = con.confrelid
      CROSS JOIN LATERAL unnest(con.conkey) AS k(attnum)
      JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
     WHERE con.contype = 'f' AND ns.nspname = 'public' AND ref.relname IN ('recipients', 'messages')
    UNION
    SELECT cl.relname, a.attname, NULL
      FROM pg_attribute a
      JOIN pg_class cl ON cl.oid = a.attrelid
      JOIN pg_namespace ns ON ns.oid = cl.relnamespace
     WHERE ns.nspname = 'public' AND cl.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
       AND a.attname = 'recipient_id'
    ORDER BY 1, 2`.execute(t.db);
  const refs = new Map<string, Reference>([
    ['recipients.id', { table: 'recipients', column: 'id', via: 'recipient' }],
  ]);
  for (const r of rows) {
    const key = `${r.table_name}.${r.column_name}`;
    const via = r.target === 'messages' ? 'message' : 'recipient';
    if (!refs.has(key) || r.target !== null)
      refs.set(key, { table: r.table_name, column: r.column_name, via });
  }
  return [...refs.values()];
}

/** Rows as the driver reads them, then as JSON: the same shape the export document has. */
async function rowsReferring(t: TestDatabase, ref: Reference, ids: readonly number[]): Promise<Row[]> {
  if (ids.length === 0) return [];
  const { rows } = await sql<Row>`
    SELECT * FROM ${sql.table(ref.table)} WHERE ${sql.ref(ref.column)} = ANY(${sql.val(ids)}::bigint[])
  `.execute(t.db);
  return JSON.parse(JSON.stringify(rows)) as Row[];
}

describe('the export holds every row the database holds about the person (N14 access, portability)', () => {
  let t: TestDatabase;
  let api: TestApp;
  let key: string;
  let person: Pii;
  let seeded: Seeded;
  let doc: ExportDoc;
  let status: number;
  let requestId: number;

  beforeAll(async () => {
    t = await createTestDatabase();
    api = await createTestApp(t);
    key = await api.key(['recipients:write', 'recipients:read', 'consents:write', 'consents:read', 'dsr']);
    person = distinctivePii('export');
    seeded = await seedRichPerson(api, key, person);
    await seedRichPerson(api, key, distinctivePii('neighbour'));
    // An earlier request of theirs, and a withdrawal: history, not only the current state.
    await fileAndExecute(api, key, person.clientNumber, 'object_profiling');
    await api.app.inject({
      method: 'POST',
      url: `/v1/recipients/${person.clientNumber}/consents`,
      headers: { authorization: `Bearer ${key}`, 'idempotency-key': 'withdraw-partner-1' },
      payload: {
        source: 'app',
        changes: [{ purpose: 'partner_offers', channel: 'email', action: 'withdraw' }],
      },
    });
    const { id, reply } = await fileAndExecute(api, key, person.clientNumber, 'portability');
    requestId = id;
    status = reply.statusCode;
    doc = reply.json() as ExportDoc;
  });
  afterAll(async () => {
    await api.close();
    await t.drop();
  });

  it('answers with one versioned JSON document and completes the request', async () => {
    expect(status).toBe(200);
    expect(doc).toMatchObject({
      format: 'consentcast.subject-export',
      schema_version: 1,
      generated_at: expect.any(String),
      controller: { name: api.config.controller.name, dpo_email: api.config.controller.dpoEmail },
    });
    const shown = await api.app.inject({
      method: 'GET',
      url: `/v1/dsr/requests/${requestId}`,
      headers: { authorization: `Bearer ${key}` },
    });
    expect(shown.json()).toMatchObject({ status: 'completed', outcome: expect.stringMatching(/^exported/) });
  });

  it('holds the whole profile, the personal code and birth date included', () => {
    expect(doc.profile).toMatchObject({
      id: seeded.recipientId,
      client_number: person.clientNumber,
      first_name: person.firstName,
      last_name: person.lastName,
      email: person.email,
      phone: `+371${person.localPhone}`,
      personal_code: person.personalCode,
      birth_date: person.birthDate,
      attributes: { loyalty_code: person.attributeValues[2] },
      profiling_objected_at: expect.any(String),
    });
  });

  it('holds, for every table that refers to the person or their messages, each such row with all its columns', async () => {
    const refs = await referencesToThePerson(t);
    expect(refs.map((r) => r.table)).toEqual(
      expect.arrayContaining([
        'recipients',
        'devices',
        'consent_events',
        'consents',
        'messages',
        'message_events',
        'run_exclusions',
        'audience_list_members',
        'dsr_requests',
        'audit_log',
      ]),
    );
    const messageIds = (
      await t.db.selectFrom('messages').select('id').where('recipient_id', '=', seeded.recipientId).execute()
    ).map((m) => m.id);
    let compared = 0;
    for (const ref of refs) {
      const rows = await rowsReferring(t, ref, ref.via === 'message' ? messageIds : [seeded.recipientId]);
      if (rows.length === 0) continue;
      const section = ref.table === 'recipients' ? [doc.profile] : doc[ref.table];
      expect(Array.isArray(section), `the export has a section for ${ref.table}`).toBe(true);
      for (const row of rows) {
        expect(section, `${ref.table} row ${JSON.stringify(row)}`).toContainEqual(
          expect.objectContaining(row),
        );
        compared += 1;
      }
    }
    // 1 device, 5 consent events, 4 consents, 2 messages, 3 message events, 1 exclusion, 1 membership,
    // 2 requests and their audit entries at least.
    expect(compared).toBeGreaterThan(20);
  });

  it('holds the full consent history, the withdrawal included, and its own disclosure in the audit entries', () => {
    const events = doc.consent_events as Row[];
    expect(events.map((e) => e.action)).toEqual(['grant', 'grant', 'grant', 'grant', 'withdraw']);
    const actions = (doc.audit_log as Row[]).map((a) => a.action);
    expect(actions).toEqual(expect.arrayContaining(['recipient.create', 'consent.change', 'dsr.export']));
    const messages = doc.messages as Row[];
    expect(messages[0]).toMatchObject({
      offer_name: 'Cashback',
      match: { rule: 'interests contains kayaking' },
    });
  });

  it('holds nothing of the other person', () => {
    expect(JSON.stringify(doc)).not.toMatch(/neighbour/);
  });
});
