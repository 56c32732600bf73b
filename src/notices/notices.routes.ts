import { Type } from '@sinclair/typebox';
import { audit } from '../audit/audit.js';
import type { Locale as LocaleT } from '../domain/vocabulary.js';
import { NotFoundError } from '../errors/not-found-error.js';
import { actorOf } from '../http/auth.js';
import type { HttpContext, TypedApp } from '../http/context.js';
import { ERROR_RESPONSES, IsoDateTime, Locale, Timestamp } from '../http/schemas.js';
import { createNotice, findNotice, listNotices, type Notice } from './notices.repository.js';

const NoticeView = Type.Object({
  version: Type.String(),
  locale: Locale,
  effective_from: Timestamp,
  text_sha256: Type.String(),
});

const toView = (n: Notice) => ({
  version: n.version,
  locale: n.locale,
  effective_from: n.effectiveFrom,
  text_sha256: n.sha256,
});

export function registerNoticeRoutes(app: TypedApp, ctx: HttpContext): void {
  const { db } = ctx.deps;

  app.post(
    '/notices',
    {
      config: { scope: 'consents:write' },
      schema: {
        summary: 'Publish a version of the privacy notice; grants must name one (N1, N11)',
        tags: ['notices'],
        body: Type.Object(
          {
            version: Type.String({ pattern: '^[A-Za-z0-9._-]{1,32}$' }),
            locale: Locale,
            effective_from: IsoDateTime,
            body: Type.String({ minLength: 1, maxLength: 200_000 }),
          },
          { additionalProperties: false },
        ),
        response: { 201: NoticeView, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const notice = await db.transaction().execute(async (trx) => {
        const created = await createNotice(trx, {
          version: request.body.version,
          locale: request.body.locale as LocaleT,
          effectiveFrom: new Date(request.body.effective_from),
          body: request.body.body,
        });
        await audit(trx, {
          actor: actorOf(request),
          action: 'notice.publish',
          subjectType: 'notice',
          subjectId: created.version,
          requestId: request.id,
          details: { sha256: created.sha256 },
        });
        return created;
      });
      return reply.code(201).send(toView(notice));
    },
  );

  app.get(
    '/notices',
    {
      config: { scope: 'consents:read' },
      schema: {
        tags: ['notices'],
        response: { 200: Type.Object({ notices: Type.Array(NoticeView) }), ...ERROR_RESPONSES },
      },
    },
    async () => ({ notices: (await listNotices(db)).map(toView) }),
  );

  app.get(
    '/notices/:version',
    {
      config: { scope: 'consents:read' },
      schema: {
        tags: ['notices'],
        params: Type.Object(
          { version: Type.String({ pattern: '^[A-Za-z0-9._-]{1,32}$' }) },
          { additionalProperties: false },
        ),
        response: { 200: NoticeView, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const notice = await findNotice(db, request.params.version);
      if (!notice) throw new NotFoundError('notice');
      return toView(notice);
    },
  );
}
