import { Readable } from 'node:stream';
import { type Static, Type } from '@sinclair/typebox';
import type { Db } from '../db/database.js';
import { findSubjectId } from '../dsr/subject.js';
import { NotFoundError } from '../errors/not-found-error.js';
import { actorOf } from '../http/auth.js';
import type { HttpContext, TypedApp } from '../http/context.js';
import { ERROR_RESPONSES, Nullable } from '../http/schemas.js';
import { type AuditQuery, audit, searchAudit } from './audit.js';

const DIGITS = '^[0-9]{1,15}$';
const EXPORT_PAGE = 1000;

const Filters = {
  client_number: Type.Optional(
    Type.String({
      pattern: '^[A-Za-z0-9_-]{1,64}$',
      description: 'the person, live or erased (found through the erasure tombstone)',
    }),
  ),
  recipient_id: Type.Optional(Type.String({ pattern: DIGITS, description: 'the surrogate person id' })),
  action: Type.Optional(
    Type.String({
      pattern: '^[a-z_.]{1,100}$',
      description: 'an action or its prefix, e.g. `dsr.` or `consent`',
    }),
  ),
  actor: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'actor id, exactly' })),
  from: Type.Optional(Type.String({ format: 'date-time', description: 'inclusive' })),
  to: Type.Optional(Type.String({ format: 'date-time', description: 'exclusive' })),
  after: Type.Optional(Type.String({ pattern: DIGITS, description: 'keyset: entries after this id' })),
};

const SearchQuery = Type.Object(
  {
    ...Filters,
    limit: Type.Optional(
      Type.String({ pattern: '^(?:[1-9][0-9]{0,2}|1000)$', description: '1-1000, default 100' }),
    ),
  },
  { additionalProperties: false },
);
const ExportQuery = Type.Object(Filters, { additionalProperties: false });
type FilterInput = Static<typeof ExportQuery>;

const Timestamp = Type.Unsafe<Date | string>({ type: 'string', format: 'date-time' });
const EntryView = Type.Object({
  id: Type.Integer(),
  occurred_at: Timestamp,
  actor_type: Type.String(),
  actor_id: Type.String(),
  action: Type.String(),
  subject_type: Type.String(),
  subject_id: Nullable(Type.String()),
  recipient_id: Nullable(Type.Integer()),
  request_id: Nullable(Type.String()),
  reason: Nullable(Type.String()),
  details: Type.Object({}, { additionalProperties: true }),
});

type AuditRow = Awaited<ReturnType<typeof searchAudit>>[number];

function entryView(row: AuditRow) {
  const details = row.details;
  return {
    ...row,
    details: details !== null && typeof details === 'object' && !Array.isArray(details) ? details : {},
  };
}

/** The query's filters as an AuditQuery (without paging); 404 when the named person is unknown. */
async function filtersOf(
  db: Db,
  pseudonymSecret: string,
  q: FilterInput,
): Promise<Omit<AuditQuery, 'limit' | 'after'>> {
  let recipientId = q.recipient_id === undefined ? undefined : Number(q.recipient_id);
  if (q.client_number !== undefined) {
    const subject = await findSubjectId(db, pseudonymSecret, q.client_number);
    if (!subject) throw new NotFoundError('recipient');
    if (recipientId !== undefined && recipientId !== subject.recipientId) {
      // Both given and they name different people: nothing can match.
      recipientId = -1;
    } else recipientId = subject.recipientId;
  }
  return {
    ...(recipientId !== undefined ? { recipientId } : {}),
    ...(q.action !== undefined ? { action: q.action } : {}),
    ...(q.actor !== undefined ? { actorId: q.actor } : {}),
    ...(q.from !== undefined ? { from: new Date(q.from) } : {}),
    ...(q.to !== undefined ? { to: new Date(q.to) } : {}),
  };
}

/** Every matching entry, page by page (keyset), as NDJSON lines. */
async function* ndjson(db: Db, filters: Omit<AuditQuery, 'limit' | 'after'>, after: number | undefined) {
  let cursor = after;
  for (;;) {
    const page = await searchAudit(db, {
      ...filters,
      ...(cursor !== undefined ? { after: cursor } : {}),
      limit: EXPORT_PAGE,
    });
    if (page.length > 0) yield `${page.map((entry) => JSON.stringify(entry)).join('\n')}\n`;
    const last = page.at(-1);
    if (page.length < EXPORT_PAGE || last === undefined) return;
    cursor = last.id;
  }
}

/** The audit log for the data-protection officer (N14, N16): search, and export as NDJSON. */
export function registerAuditRoutes(app: TypedApp, ctx: HttpContext): void {
  const { db, config } = ctx.deps;

  app.get(
    '/audit',
    {
      config: { scope: 'audit:read' },
      schema: {
        summary: 'Search the audit log: who did what, to whom, when; keyset-paged by id',
        tags: ['audit'],
        querystring: SearchQuery,
        response: {
          200: Type.Object({
            entries: Type.Array(EntryView),
            next_after: Nullable(Type.Integer({ description: 'pass as `after` for the next page' })),
          }),
          ...ERROR_RESPONSES,
        },
      },
    },
    async (request) => {
      const q = request.query;
      const limit = Number(q.limit ?? '100');
      const entries = await searchAudit(db, {
        ...(await filtersOf(db, config.pseudonymSecret, q)),
        ...(q.after !== undefined ? { after: Number(q.after) } : {}),
        limit,
      });
      const last = entries.at(-1);
      return {
        entries: entries.map(entryView),
        next_after: entries.length === limit && last ? last.id : null,
      };
    },
  );

  app.get(
    '/audit/export',
    {
      config: { scope: 'audit:read' },
      schema: {
        summary: 'Every matching audit entry as NDJSON (one JSON object per line), oldest first',
        description: 'The export itself is recorded in the audit log (action `audit.export`).',
        tags: ['audit'],
        querystring: ExportQuery,
        produces: ['application/x-ndjson'],
        response: {
          200: {
            description: 'one audit entry per line',
            content: { 'application/x-ndjson': { schema: Type.String() } },
          },
          ...ERROR_RESPONSES,
        },
      },
    },
    async (request, reply) => {
      const q = request.query;
      const filters = await filtersOf(db, config.pseudonymSecret, q);
      await audit(db, {
        actor: actorOf(request),
        action: 'audit.export',
        subjectType: 'audit_log',
        ...(filters.recipientId !== undefined && filters.recipientId > 0
          ? { recipientId: filters.recipientId }
          : {}),
        requestId: request.id,
        details: {
          filters: Object.keys(q).sort(),
          ...(filters.action !== undefined ? { action: filters.action } : {}),
        },
      });
      const after = q.after === undefined ? undefined : Number(q.after);
      return (
        reply
          .type('application/x-ndjson; charset=utf-8')
          .header('content-disposition', 'attachment; filename="audit-log.ndjson"')
          // A stream bypasses the response serializer; the typed reply only knows the schema's JSON bodies.
          .send(Readable.from(ndjson(db, filters, after)) as never)
      );
    },
  );
}
