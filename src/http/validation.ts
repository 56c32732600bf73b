import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule, { type FormatsPlugin } from 'ajv-formats';
import type { FastifySchema } from 'fastify';
import type { FieldProblem } from '../errors/validation-error.js';
import { ValidationError } from '../errors/validation-error.js';

// ajv-formats is CommonJS; its default export arrives wrapped under ESM.
const addFormats: FormatsPlugin =
  (addFormatsModule as unknown as { default?: FormatsPlugin }).default ??
  (addFormatsModule as unknown as FormatsPlugin);

/**
 * JSON Schema's date and date-time (RFC 3339) allow the year 0000, which PostgreSQL does not have: such a
 * value must be a 400 naming its field, not a database error. The formats ajv-formats added are kept
 * and the year checked on top.
 */
function withoutYearZero(ajv: Ajv): void {
  for (const name of ['date', 'date-time']) {
    const base = ajv.formats[name];
    const check =
      typeof base === 'function'
        ? base
        : base instanceof RegExp
          ? (s: string) => base.test(s)
          : typeof base === 'object' && typeof base.validate === 'function'
            ? (base.validate as (s: string) => boolean)
            : undefined;
    if (check === undefined) throw new Error(`ajv-formats gave no validator for ${name}`);
    const validate = (s: string): boolean => !s.startsWith('0000') && check(s);
    const compare = typeof base === 'object' && 'compare' in base ? base.compare : undefined;
    ajv.addFormat(
      name,
      typeof compare === 'function'
        ? { type: 'string', validate, compare: compare as (a: string, b: string) => number | undefined }
        : validate,
    );
  }
}

const PARTS = ['params', 'querystring', 'headers', 'body'] as const;
type Part = (typeof PARTS)[number];
const FIELD_PREFIX: Record<Part, string> = {
  params: 'params',
  querystring: 'query',
  headers: 'headers',
  body: 'body',
};

/**
 * Fastify validates params, body, query and headers one after another and stops at the first part
 * that fails, so a bad body hides a missing header. This validates every part at once with one
 * compiled schema per route, so a 400 names every invalid field of the request.
 */
export function createRequestValidator() {
  const ajv = new Ajv({
    allErrors: true,
    coerceTypes: false,
    useDefaults: true,
    removeAdditional: false,
    strict: false,
  });
  addFormats(ajv);
  withoutYearZero(ajv);

  return function compile(schema: FastifySchema): ((request: Record<Part, unknown>) => void) | undefined {
    const properties: Record<string, unknown> = {};
    for (const part of PARTS) {
      const s = (schema as Record<string, unknown>)[part];
      if (s !== undefined) properties[part] = s;
    }
    if (Object.keys(properties).length === 0) return undefined;
    const validate: ValidateFunction = ajv.compile({ type: 'object', properties });
    return (request) => {
      const input: Record<string, unknown> = {};
      for (const part of PARTS) {
        // Fastify keeps the parsed query string as `request.query`, not `request.querystring`.
        const value = part === 'querystring' ? (request as Record<string, unknown>).query : request[part];
        if (properties[part] !== undefined) input[part] = value ?? (part === 'body' ? null : {});
      }
      if (!validate(input)) throw new ValidationError(fieldsOf(validate.errors ?? []));
    };
  };
}

function fieldsOf(errors: readonly ErrorObject[]): FieldProblem[] {
  const seen = new Set<string>();
  const out: FieldProblem[] = [];
  for (const e of errors) {
    const [, part, ...rest] = e.instancePath.split('/');
    const params = e.params as Record<string, unknown>;
    const extra =
      typeof params.missingProperty === 'string'
        ? params.missingProperty
        : typeof params.additionalProperty === 'string'
          ? params.additionalProperty
          : undefined;
    let field: string;
    if (part === undefined || part === '') {
      // a missing whole part (e.g. no body at all)
      field = extra === undefined ? 'request' : (FIELD_PREFIX[extra as Part] ?? extra);
    } else {
      field = [FIELD_PREFIX[part as Part] ?? part, ...rest, ...(extra !== undefined ? [extra] : [])].join(
        '/',
      );
    }
    const message =
      typeof params.additionalProperty === 'string' ? 'is not a known field' : (e.message ?? 'is invalid');
    // anyOf/union branches repeat themselves: one line per field and message is enough
    const key = `${field}\u0000${message}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push({ field, message });
    }
  }
  return out;
}
