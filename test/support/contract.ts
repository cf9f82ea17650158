import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import * as path from 'node:path';
import addFormats from 'ajv-formats';
import OpenAPIBackend from 'openapi-backend';
import type { Document, Operation } from 'openapi-backend';
import request from 'supertest';
import { projectRoot } from '../../src/config/paths';

/**
 * Every answer a test receives through `t.http` is checked against the committed openapi.json:
 * the status must be declared for the operation, the media type declared for that status, and a
 * JSON body must validate against the declared schema (openapi-backend, which compiles the
 * schemas with Ajv). A mismatch fails the request's promise, so the contract cannot drift from
 * what the server answers without a test going red. Requests for paths the document does not
 * describe (unknown routes, /docs) are not checked: no operation promises anything there.
 */
export class ContractViolation extends Error {}

interface ReceivedAnswer {
  status: number;
  headers: Record<string, string | undefined>;
  body: unknown;
  text?: string;
}

interface DeclaredResponse {
  content?: Record<string, { schema?: unknown }>;
}

let backend: Promise<OpenAPIBackend> | undefined;

function contract(): Promise<OpenAPIBackend> {
  backend ??= (async () => {
    const definition = JSON.parse(readFileSync(path.join(projectRoot(), 'openapi.json'), 'utf8')) as Document;
    // quick: openapi-backend's own document check knows OpenAPI 3.0 only; the document is linted
    // as 3.1 by Redocly and Spectral (npm run lint:openapi) instead.
    const api = new OpenAPIBackend({
      definition,
      validate: true,
      strict: true,
      quick: true,
      // uuid, date-time, uri … are checked, not ignored.
      customizeAjv: (ajv) => {
        addFormats(ajv);
        return ajv;
      },
    });
    await api.init();
    return api;
  })();
  return backend;
}

/**
 * An answer of the HTTP layers in front of the router (body parsers, the NUL refusal, size and
 * time limits): they cannot know whether the path names a route.
 */
function refusedBeforeRouting(answer: ReceivedAnswer): boolean {
  const error = (answer.body as { error?: { code?: string; details?: unknown } } | null)?.error;
  if (!error?.code) return false;
  if (['MALFORMED_JSON', 'BAD_CONTENT_ENCODING', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE'].includes(error.code)) {
    return true;
  }
  return (
    error.code === 'VALIDATION_FAILED' &&
    Array.isArray(error.details) &&
    error.details.length > 0 &&
    // The two problems a middleware finds in any body before any route reads it (refuseNulCharacters).
    error.details.every(
      (problem: { code?: string }) =>
        problem.code === 'NUL_CHARACTER' || problem.code === 'TOO_MANY_FIELDS' || problem.code === 'TOO_DEEP',
    )
  );
}

/** What is wrong with this answer to `method url`, or null when the contract allows it. */
export async function contractViolation(method: string, url: string, answer: ReceivedAnswer): Promise<string | null> {
  const api = await contract();
  const parsed = new URL(url, 'http://contract.invalid');
  const operation = api.router.matchOperation({
    method: method.toLowerCase(),
    path: parsed.pathname,
    headers: {},
    query: Object.fromEntries(parsed.searchParams),
  });
  if (!operation) {
    // No operation: only "no such route" answers are allowed under /v1, so a route missing from the
    // document is caught; and the refusals of the layers that run before routing (a body that
    // cannot be read at all), which any path gets, routed or not.
    if (parsed.pathname.startsWith('/v1/') && ![404, 405].includes(answer.status) && !refusedBeforeRouting(answer)) {
      return `${method.toUpperCase()} ${parsed.pathname} → ${answer.status}: no operation in openapi.json describes this route`;
    }
    return null;
  }
  const where = `${method.toUpperCase()} ${parsed.pathname} → ${answer.status} (${operation.operationId})`;
  const declared = declaredResponse(operation, answer.status);
  if (!declared)
    return `${where}: status ${answer.status} is not declared; declared: ${Object.keys(operation.responses ?? {}).join(', ')}`;

  const mediaType = (answer.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (!mediaType) {
    if (declared.content && answer.status !== 204 && method.toUpperCase() !== 'HEAD') {
      return `${where}: the answer has no Content-Type but the document declares ${Object.keys(declared.content).join(', ')}`;
    }
    return null;
  }
  if (!declared.content?.[mediaType]) {
    return `${where}: media type ${mediaType} is not declared; declared: ${Object.keys(declared.content ?? {}).join(', ') || 'none'}`;
  }
  if (mediaType !== 'application/json') return null;
  const result = api.validator.validateResponse(answer.body, operation, answer.status);
  if (result.valid) return null;
  return `${where}: the body does not match the schema: ${JSON.stringify(result.errors)}\nbody: ${JSON.stringify(answer.body).slice(0, 2000)}`;
}

function declaredResponse(operation: Operation, status: number): DeclaredResponse | undefined {
  const responses = (operation.responses ?? {}) as Record<string, DeclaredResponse>;
  return responses[String(status)] ?? responses[`${String(status)[0]}XX`] ?? responses.default;
}

type Agent = ReturnType<typeof request>;
const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options'] as const;

/**
 * supertest for `server`, with every answer checked by {@link contractViolation}: awaiting a
 * request that got an undeclared answer rejects with a ContractViolation naming what differs.
 */
export function contractCheckedRequest(server: Server): Agent {
  const agent = request(server);
  return new Proxy(agent, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof property !== 'string' || !(METHODS as readonly string[]).includes(property)) return value;
      return (url: string) => {
        const test = (value as (url: string) => request.Test).call(target, url);
        const then = test.then.bind(test);
        test.then = ((onFulfilled, onRejected) =>
          then(async (answer: request.Response) => {
            const violation = await contractViolation(property, url, answer);
            if (violation) throw new ContractViolation(violation);
            return answer;
          }).then(onFulfilled, onRejected)) as typeof test.then;
        return test;
      };
    },
  });
}

/**
 * fetch for a generated client (openapi-fetch), with every answer checked by
 * {@link contractViolation} like the supertest agent's: an undeclared answer rejects.
 */
export const contractCheckedFetch: typeof fetch = async (input, init) => {
  const request = new Request(input, init);
  const response = await fetch(request);
  const text = await response.clone().text();
  const mediaType = response.headers.get('content-type') ?? '';
  const violation = await contractViolation(request.method, request.url, {
    status: response.status,
    headers: { 'content-type': mediaType || undefined },
    body: mediaType.startsWith('application/json') && text ? (JSON.parse(text) as unknown) : text,
  });
  if (violation) throw new ContractViolation(violation);
  return response;
};
