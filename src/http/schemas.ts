import { type TSchema, Type } from '@sinclair/typebox';
import { CHANNELS, LOCALES, PURPOSES } from '../domain/vocabulary.js';

/** Shared pieces of the request and response schemas (also what the OpenAPI document shows). */

export const Purpose = Type.Union(
  PURPOSES.map((p) => Type.Literal(p)),
  { description: 'N3: what the message is about' },
);
export const Channel = Type.Union(
  CHANNELS.map((c) => Type.Literal(c)),
  { description: 'N4: how it is sent' },
);
export const Locale = Type.Union(LOCALES.map((l) => Type.Literal(l)));
/** A timestamp in a request: an ISO 8601 string with a zone. */
export const IsoDateTime = Type.String({ format: 'date-time' });
/** A timestamp in a response: the serializer writes Dates as ISO 8601. */
export const Timestamp = Type.Unsafe<Date | string>({ type: 'string', format: 'date-time' });
export const ClientNumberParams = Type.Object(
  { clientNumber: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }) },
  { additionalProperties: false },
);

export const ErrorBody = Type.Object({
  error: Type.String(),
  message: Type.String(),
  fields: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() }))),
});

/** The error responses every authenticated route may give. */
export const ERROR_RESPONSES = {
  400: ErrorBody,
  401: ErrorBody,
  403: ErrorBody,
  404: ErrorBody,
  409: ErrorBody,
} as const;

export function Nullable<T extends TSchema>(schema: T) {
  return Type.Union([schema, Type.Null()]);
}
