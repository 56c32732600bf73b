import { Type } from '@sinclair/typebox';
import { audit } from '../audit/audit.js';
import { NotFoundError } from '../errors/not-found-error.js';
import { ValidationError } from '../errors/validation-error.js';
import { actorOf } from '../http/auth.js';
import type { HttpContext, TypedApp } from '../http/context.js';
import { ClientNumberParams, ERROR_RESPONSES, Locale, Nullable, Timestamp } from '../http/schemas.js';
import { listDevices, registerDevice, unregisterDevice } from './devices.repository.js';
import { RecipientBody } from './recipient-body.js';
import { validateRecipientInput } from './recipient-input.js';
import { type RecipientRow, requireRecipient, upsertRecipient } from './recipients.repository.js';

const RecipientView = Type.Object({
  client_number: Type.String(),
  first_name: Nullable(Type.String()),
  last_name: Nullable(Type.String()),
  email: Nullable(Type.String()),
  phone: Nullable(Type.String()),
  locale: Locale,
  time_zone: Type.String(),
  birth_date: Nullable(Type.String()),
  has_personal_code: Type.Boolean(),
  attributes: Type.Record(Type.String(), Type.Unknown()),
  restricted_at: Nullable(Timestamp),
  objected_at: Nullable(Timestamp),
  profiling_objected_at: Nullable(Timestamp),
  created_at: Timestamp,
  updated_at: Timestamp,
});

const DeviceView = Type.Object({
  id: Type.Integer(),
  platform: Type.String(),
  registered_at: Timestamp,
  last_seen_at: Type.Optional(Timestamp),
  invalidated_at: Type.Optional(Nullable(Timestamp)),
  invalid_reason: Type.Optional(Nullable(Type.String())),
});

/** The API view: the personal code itself is never returned (only that one is held). */
function view(row: RecipientRow) {
  return {
    client_number: row.client_number ?? '',
    first_name: row.first_name,
    last_name: row.last_name,
    email: row.email,
    phone: row.phone,
    locale: row.locale,
    time_zone: row.time_zone,
    birth_date: row.birth_date,
    has_personal_code: row.personal_code !== null,
    attributes: row.attributes as Record<string, unknown>,
    restricted_at: row.restricted_at,
    objected_at: row.objected_at,
    profiling_objected_at: row.profiling_objected_at,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

export function registerRecipientRoutes(app: TypedApp, ctx: HttpContext): void {
  const { db, config } = ctx.deps;

  app.put(
    '/recipients/:clientNumber',
    {
      config: { scope: 'recipients:write' },
      schema: {
        summary: 'Create a person, or update the fields given (null clears a field)',
        tags: ['recipients'],
        params: ClientNumberParams,
        body: RecipientBody,
        response: { 200: RecipientView, 201: RecipientView, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const checked = validateRecipientInput(request.body, 'body');
      if (!checked.ok) throw new ValidationError(checked.problems);
      const { clientNumber } = request.params;
      const row = await db.transaction().execute(async (trx) => {
        const result = await upsertRecipient(trx, config.pseudonymSecret, clientNumber, checked.value);
        await audit(trx, {
          actor: actorOf(request),
          action: result.created ? 'recipient.create' : 'recipient.update',
          subjectType: 'recipient',
          subjectId: result.id,
          recipientId: result.id,
          requestId: request.id,
          details: { fields: result.changed },
        });
        return { ...(await requireRecipient(trx, clientNumber)), created: result.created };
      });
      return reply.code(row.created ? 201 : 200).send(view(row));
    },
  );

  app.get(
    '/recipients/:clientNumber',
    {
      config: { scope: 'recipients:read' },
      schema: {
        tags: ['recipients'],
        params: ClientNumberParams,
        response: { 200: RecipientView, ...ERROR_RESPONSES },
      },
    },
    async (request) => view(await requireRecipient(db, request.params.clientNumber)),
  );

  app.post(
    '/recipients/:clientNumber/devices',
    {
      config: { scope: 'recipients:write' },
      schema: {
        summary: 'Register a push token for the person (N7)',
        tags: ['recipients'],
        params: ClientNumberParams,
        body: Type.Object(
          {
            token: Type.String({ minLength: 8, maxLength: 4096 }),
            platform: Type.Union([Type.Literal('android'), Type.Literal('ios'), Type.Literal('web')]),
          },
          { additionalProperties: false },
        ),
        response: { 201: DeviceView, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const device = await db.transaction().execute(async (trx) => {
        const person = await requireRecipient(trx, request.params.clientNumber);
        const registered = await registerDevice(trx, person.id, request.body.token, request.body.platform);
        await audit(trx, {
          actor: actorOf(request),
          action: 'device.register',
          subjectType: 'device',
          subjectId: registered.id,
          recipientId: person.id,
          requestId: request.id,
        });
        return registered;
      });
      return reply.code(201).send(device);
    },
  );

  app.get(
    '/recipients/:clientNumber/devices',
    {
      config: { scope: 'recipients:read' },
      schema: {
        tags: ['recipients'],
        params: ClientNumberParams,
        response: { 200: Type.Object({ devices: Type.Array(DeviceView) }), ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const person = await requireRecipient(db, request.params.clientNumber);
      return { devices: await listDevices(db, person.id) };
    },
  );

  app.delete(
    '/recipients/:clientNumber/devices/:deviceId',
    {
      config: { scope: 'recipients:write' },
      schema: {
        tags: ['recipients'],
        params: Type.Object(
          {
            clientNumber: ClientNumberParams.properties.clientNumber,
            deviceId: Type.String({ pattern: '^[0-9]{1,15}$' }),
          },
          { additionalProperties: false },
        ),
        response: { 204: Type.Null(), ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      await db.transaction().execute(async (trx) => {
        const person = await requireRecipient(trx, request.params.clientNumber);
        const deviceId = Number(request.params.deviceId);
        if (!(await unregisterDevice(trx, person.id, deviceId))) throw new NotFoundError('device');
        await audit(trx, {
          actor: actorOf(request),
          action: 'device.unregister',
          subjectType: 'device',
          subjectId: deviceId,
          recipientId: person.id,
          requestId: request.id,
        });
      });
      return reply.code(204).send(null);
    },
  );
}
