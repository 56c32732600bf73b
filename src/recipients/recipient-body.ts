import { Type } from '@sinclair/typebox';
import { Nullable } from '../http/schemas.js';

/**
 * A person's fields in a request body (PUT /v1/recipients/:clientNumber, and the corrected fields of a
 * rectification, POST /v1/dsr/requests/:id/execute). The schema documents them; the rules are
 * validateRecipientInput's (recipient-input.ts).
 */
export const RecipientBody = Type.Object(
  {
    first_name: Type.Optional(Nullable(Type.String({ maxLength: 100 }))),
    last_name: Type.Optional(Nullable(Type.String({ maxLength: 100 }))),
    email: Type.Optional(Nullable(Type.String({ maxLength: 254 }))),
    phone: Type.Optional(Nullable(Type.String({ maxLength: 32 }))),
    locale: Type.Optional(Type.String()),
    time_zone: Type.Optional(Type.String({ maxLength: 64 })),
    birth_date: Type.Optional(Nullable(Type.String())),
    personal_code: Type.Optional(Nullable(Type.String({ maxLength: 20 }))),
    attributes: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false },
);
