import type { OpenAPIObject } from '@nestjs/swagger';
import { getSchemaPath } from '@nestjs/swagger';
import { ErrorBodyDto } from '../common/errors/error-body.dto';

/**
 * What every operation can answer, whatever its controller declares: these answers come from
 * layers every request passes through (the HTTP server's limits, body parsing, authentication,
 * rate limits, the database pool, the exception filter), so they are declared here once, from
 * the same facts those layers act on, instead of by hand on each route where they would be
 * forgotten. Controllers declare only what their own route adds.
 */

type Json = Record<string, unknown>;
type Operation = {
  security?: Array<Record<string, string[]>>;
  parameters?: Array<{ name: string; in: string; schema?: Json }>;
  responses: Record<string, Json>;
};

const ERROR_CONTENT = { 'application/json': { schema: { $ref: getSchemaPath(ErrorBodyDto) } } };
const RETRY_AFTER = {
  'Retry-After': {
    description: 'Seconds to wait before sending the request again.',
    schema: { type: 'integer', minimum: 0 },
  },
};

/** Shared error answers, referenced from each operation as `#/components/responses/<name>`. */
export const COMMON_RESPONSES = {
  BadRequest: {
    description:
      'MALFORMED_JSON (the body is not JSON), VALIDATION_FAILED (`details` lists each bad field, parameter or header), BAD_CONTENT_ENCODING.',
    content: ERROR_CONTENT,
  },
  Unauthenticated: {
    description: 'UNAUTHENTICATED: no API key, or one that is unknown, expired or revoked.',
    content: ERROR_CONTENT,
  },
  ForbiddenScope: {
    description: 'FORBIDDEN_SCOPE: the API key lacks a scope this route needs (named in the message).',
    content: ERROR_CONTENT,
  },
  NotFound: { description: 'NOT_FOUND: no such id.', content: ERROR_CONTENT },
  RequestTimeout: {
    description: 'REQUEST_TIMEOUT: the request was not received within the server’s time limit.',
    content: ERROR_CONTENT,
  },
  PayloadTooLarge: { description: 'PAYLOAD_TOO_LARGE: the body is over the size limit.', content: ERROR_CONTENT },
  UnsupportedMediaType: {
    description: 'UNSUPPORTED_MEDIA_TYPE: a body that is not UTF-8 JSON.',
    content: ERROR_CONTENT,
  },
  TooManyRequests: {
    description:
      'RATE_LIMITED (this API key’s budget), TOO_MANY_FAILED_AUTHENTICATIONS (this address), TOO_MANY_REQUESTS (a notification source), BATCH_INTAKE_BUSY (batch routes: too many batches being checked at once); wait for Retry-After.',
    headers: RETRY_AFTER,
    content: ERROR_CONTENT,
  },
  HeadersTooLarge: {
    description: 'HEADERS_TOO_LARGE: the request headers are larger than the server reads.',
    content: ERROR_CONTENT,
  },
  Internal: {
    description: 'INTERNAL: an unexpected failure; the message carries the request id to quote.',
    content: ERROR_CONTENT,
  },
  DatabaseBusy: {
    description:
      'DATABASE_BUSY: no database connection in time; send the same request again after Retry-After (with the same Idempotency-Key where there is one).',
    headers: RETRY_AFTER,
    content: ERROR_CONTENT,
  },
} as const;

type CommonResponse = keyof typeof COMMON_RESPONSES;

function reference(name: CommonResponse): Json {
  return { $ref: `#/components/responses/${name}` };
}

/** The answers an operation can get from the layers in front of it, by status. */
function layerAnswers(path: string, operation: Operation): Array<[string, CommonResponse]> {
  const authenticated = (operation.security ?? []).length > 0;
  const touchesDatabase = authenticated || path.startsWith('/v1/');
  const answers: Array<[string, CommonResponse]> = [
    // Body parsing runs for every request, with or without a body declared.
    ['400', 'BadRequest'],
    ['408', 'RequestTimeout'],
    ['413', 'PayloadTooLarge'],
    ['415', 'UnsupportedMediaType'],
    ['431', 'HeadersTooLarge'],
    ['500', 'Internal'],
  ];
  if (authenticated) answers.push(['401', 'Unauthenticated'], ['403', 'ForbiddenScope']);
  if (touchesDatabase) answers.push(['429', 'TooManyRequests'], ['503', 'DatabaseBusy']);
  if (/\{id\}/.test(path)) answers.push(['404', 'NotFound']);
  return answers;
}

/**
 * Completes the document Nest generates into the published contract: OpenAPI 3.1 (so that
 * "may be null" is expressible for a referenced schema, which 3.0's `nullable` is not), every
 * reachable status declared, public routes marked `security: []`, ids as UUIDs, and request
 * bodies closed (`additionalProperties: false`) because the validation pipe refuses unknown fields.
 */
export function completeContract(document: OpenAPIObject): OpenAPIObject {
  const completed = structuredClone(document) as OpenAPIObject & { openapi: string };
  completed.openapi = '3.1.0';
  const used = new Set<CommonResponse>();

  for (const [path, item] of Object.entries(completed.paths)) {
    for (const operation of Object.values(item as Record<string, Operation>)) {
      operation.security ??= [];
      for (const parameter of operation.parameters ?? []) {
        // Every {id} route parses it with uuidParam(): anything else is a 400 before the handler.
        if (parameter.in === 'path' && parameter.name === 'id') parameter.schema = { type: 'string', format: 'uuid' };
      }
      for (const [status, name] of layerAnswers(path, operation)) {
        const declared = operation.responses[status];
        if (!declared) {
          operation.responses[status] = reference(name);
          used.add(name);
        } else if (!declared.description) declared.description = COMMON_RESPONSES[name].description;
      }
      operation.responses = sortedByStatus(operation.responses);
    }
  }

  const responses = Object.fromEntries([...used].sort().map((name) => [name, structuredClone(COMMON_RESPONSES[name])]));
  completed.components = { ...completed.components, responses };

  const described = new Set((completed.tags ?? []).map((tag) => tag.name));
  for (const [path, item] of Object.entries(completed.paths)) {
    for (const operation of Object.values(item as Record<string, { tags?: string[] }>)) {
      const undescribed = (operation.tags ?? []).filter((tag) => !described.has(tag));
      if (undescribed.length > 0) throw new Error(`${path} uses tags with no description: ${undescribed.join(', ')}`);
    }
  }

  closeRequestSchemas(completed);
  closeResponseSchemas(completed);
  return toJsonSchemaNulls(completed) as OpenAPIObject;
}

function sortedByStatus(responses: Record<string, Json>): Record<string, Json> {
  return Object.fromEntries(Object.entries(responses).sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * Sets `additionalProperties: false` on every object schema (with properties, and no
 * `additionalProperties` of its own: free-form maps and error details keep theirs) reachable from
 * `roots`, following component references once each.
 */
function closeObjectsReachableFrom(document: OpenAPIObject, roots: unknown[]): void {
  const schemas = (document.components?.schemas ?? {}) as Record<string, Json>;
  const seen = new Set<string>();
  const visit = (schema: unknown): void => {
    if (Array.isArray(schema)) return schema.forEach(visit);
    if (!schema || typeof schema !== 'object') return;
    const node = schema as Json;
    if (typeof node.$ref === 'string') {
      const name = node.$ref.replace('#/components/schemas/', '');
      if (seen.has(name)) return;
      seen.add(name);
      return visit(schemas[name]);
    }
    if (node.type === 'object' && node.properties && node.additionalProperties === undefined) {
      node.additionalProperties = false;
    }
    Object.values(node).forEach(visit);
  };
  roots.forEach(visit);
}

type DocumentedOperation = { requestBody?: Json; responses?: Json; security?: unknown[] };

function operationsOf(document: OpenAPIObject): DocumentedOperation[] {
  return Object.values(document.paths).flatMap((item) => Object.values(item as Record<string, DocumentedOperation>));
}

/**
 * The validation pipe runs with forbidNonWhitelisted: an unknown field in an authenticated
 * route's request body is a 400. Say so in the schemas reachable from those bodies, so generated
 * clients and validators refuse the same bodies the server refuses. Public routes (provider
 * notifications) read their raw body and ignore what they do not use: left open.
 */
function closeRequestSchemas(document: OpenAPIObject): void {
  const authenticated = operationsOf(document).filter((operation) => (operation.security ?? []).length > 0);
  closeObjectsReachableFrom(
    document,
    authenticated.map((operation) => operation.requestBody),
  );
}

/**
 * Answers carry exactly the properties their DTO declares (the controllers build them field by
 * field): say so, so a validator (the tests' response check) refuses a field that leaks in.
 */
function closeResponseSchemas(document: OpenAPIObject): void {
  closeObjectsReachableFrom(document, [
    ...operationsOf(document).map((operation) => operation.responses),
    ...Object.values(document.components?.responses ?? {}),
  ]);
}

/**
 * OpenAPI 3.0's `nullable: true` beside `allOf: [$ref]` does not admit null (it only applies to a
 * `type` in the same schema), yet Nest writes it for `nullable` object properties. In 3.1 a
 * schema is JSON Schema: `type: [T, "null"]`, or `anyOf: [{$ref}, {type: "null"}]`.
 */
function toJsonSchemaNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toJsonSchemaNulls);
  if (!value || typeof value !== 'object') return value;
  const { nullable, ...rest } = value as Json;
  const node = Object.fromEntries(Object.entries(rest).map(([key, child]) => [key, toJsonSchemaNulls(child)]));
  if (nullable !== true) return node;
  const allOf = node.allOf as Json[] | undefined;
  if (allOf?.length === 1 && typeof allOf[0].$ref === 'string') {
    const { allOf: _ref, type: _object, ...annotations } = node;
    return { ...annotations, anyOf: [allOf[0], { type: 'null' }] };
  }
  if (typeof node.type === 'string') {
    const withNull: Json = { ...node, type: [node.type, 'null'] };
    if (Array.isArray(node.enum)) withNull.enum = [...(node.enum as unknown[]), null];
    return withNull;
  }
  throw new Error(`nullable schema without a type or a single $ref: ${JSON.stringify(node)}`);
}
