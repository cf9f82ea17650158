import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import fc from 'fast-check';
import { projectRoot } from '../../src/config/paths';
import { DestinationResolver } from '../../src/events/destination-policy';
import { contractViolation } from '../support/contract';
import type { TestApp } from '../support/test-app';
import { bearer, startTestApp } from '../support/test-app';
import { PROVIDER_DESCRIPTORS } from '../../src/providers/registered-providers';

/**
 * Requests generated from the committed openapi.json for every operation: valid ones, boundary
 * values and hostile input (wrong types, huge strings, unicode, nested junk, injection strings,
 * missing and extra headers). Whatever comes in: no 5xx, every error in the documented shape with
 * a code, no secret in any response, and nothing written for a rejected request.
 * FUZZ_REQUESTS sets the total (default 10 000).
 */
type Schema = {
  $ref?: string;
  type?: string;
  enum?: unknown[];
  format?: string;
  example?: unknown;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  oneOf?: Schema[];
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
};
type Operation = {
  method: string;
  path: string;
  parameters: Array<{ name: string; in: 'path' | 'query' | 'header'; required?: boolean; schema?: Schema }>;
  body?: Schema;
};

const document = JSON.parse(readFileSync(path.join(projectRoot(), 'openapi.json'), 'utf8')) as {
  paths: Record<
    string,
    Record<
      string,
      { parameters?: Operation['parameters']; requestBody?: { content: Record<string, { schema: Schema }> } }
    >
  >;
  components: { schemas: Record<string, Schema> };
};

function resolve(schema: Schema | undefined): Schema {
  if (!schema) return {};
  if (schema.$ref) return resolve(document.components.schemas[schema.$ref.split('/').pop() as string]);
  return schema;
}

const operations: Operation[] = Object.entries(document.paths).flatMap(([route, methods]) =>
  Object.entries(methods).map(([method, operation]) => ({
    method: method.toUpperCase(),
    path: route,
    parameters: operation.parameters ?? [],
    body: operation.requestBody ? resolve(Object.values(operation.requestBody.content)[0]?.schema) : undefined,
  })),
);

const HOSTILE_STRINGS = [
  "' OR '1'='1' --",
  '"; DROP TABLE payouts; --',
  '{"$gt": ""}',
  '../../../../etc/passwd',
  '<script>alert(1)</script>',
  '\u202Eevil\u0000nul',
  '🙂'.repeat(200),
  'x'.repeat(70_000),
  '%00%ff',
  '__proto__',
  '-1',
  '1e309',
  'NaN',
];

const hostile: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(...HOSTILE_STRINGS),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.integer(),
  fc.double({ noNaN: true }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 }),
  fc.constant({ __proto__: { admin: true }, constructor: { prototype: { polluted: true } } }),
);

function valid(schema: Schema | undefined, depth = 0): fc.Arbitrary<unknown> {
  const s = resolve(schema);
  if (s.oneOf) return fc.oneof(...s.oneOf.map((option) => valid(option, depth + 1)));
  if (s.enum) return fc.constantFrom(...s.enum);
  if (s.example !== undefined && depth > 0)
    return fc.oneof(fc.constant(s.example), fc.constant(s.example), primitive(s, depth));
  return primitive(s, depth);
}

function primitive(s: Schema, depth: number): fc.Arbitrary<unknown> {
  switch (s.type) {
    case 'string':
      if (s.format === 'uuid') return fc.uuid();
      if (s.format === 'date-time')
        return fc
          .date({ min: new Date('2020-01-01'), max: new Date('2035-01-01'), noInvalidDate: true })
          .map((d) => d.toISOString());
      return fc.string({ minLength: s.minLength ?? 0, maxLength: Math.min(s.maxLength ?? 40, 200) });
    case 'integer':
      return fc.integer({ min: s.minimum ?? -1_000, max: s.maximum ?? 100_000 });
    case 'number':
      return fc.double({ noNaN: true, noDefaultInfinity: true });
    case 'boolean':
      return fc.boolean();
    case 'array':
      return fc.array(valid(s.items, depth + 1), { maxLength: 3 });
    case 'object': {
      if (!s.properties || depth > 3)
        return fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 });
      const required = new Set(s.required ?? []);
      const shape = Object.fromEntries(
        Object.entries(s.properties).map(([name, property]) => [name, valid(property, depth + 1)]),
      );
      const requiredKeys = Object.keys(shape).filter((name) => required.has(name));
      return fc.record(shape, { requiredKeys });
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/** A valid body with one field replaced by something hostile (or removed, or one extra field). */
function mutated(schema: Schema): fc.Arbitrary<unknown> {
  return fc
    .tuple(valid(schema, 1), hostile, fc.nat(), fc.constantFrom('replace', 'remove', 'extra'))
    .map(([body, junk, index, how]) => {
      if (typeof body !== 'object' || body === null || Array.isArray(body)) return junk;
      const copy: Record<string, unknown> = { ...(body as Record<string, unknown>) };
      const keys = Object.keys(copy);
      if (how === 'extra' || keys.length === 0) copy[`extra_${index % 5}`] = junk;
      else if (how === 'remove') delete copy[keys[index % keys.length]];
      else copy[keys[index % keys.length]] = junk;
      return copy;
    });
}

/** Keeps the expensive valid paths cheap: RSA generation is measured elsewhere, not fuzzed. */
function tame(operation: Operation, body: unknown): unknown {
  if (operation.path === '/v1/credentials/verestro/csr' && body && typeof body === 'object' && !Array.isArray(body)) {
    return { ...body, keyBits: 1024 };
  }
  return body;
}

/** Text of any generated value (objects without a prototype included). */
function text(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? 'undefined';
  } catch {
    return 'unserialisable';
  }
}

interface Generated {
  auth: 'admin' | 'none' | 'garbage' | 'read-only';
  pathValues: unknown[];
  query: Array<[string, unknown]>;
  body: { kind: 'json'; value: unknown } | { kind: 'raw'; value: string; type: string } | { kind: 'none' };
  idempotencyKey: unknown;
}

/**
 * Provider notifications as forgers send them: D24's form fields with made-up or near-miss
 * controls, ConnectPay-like JSON, random bytes under any content type.
 */
const notificationBody: fc.Arbitrary<Generated['body']> = fc.oneof(
  fc
    .record({
      external_id: fc.oneof(fc.uuid(), hostile.map(text)),
      control: fc.oneof(
        fc
          .uint8Array({ minLength: 32, maxLength: 32 })
          .map((bytes) => Buffer.from(bytes).toString('hex').toUpperCase()),
        hostile.map(text),
      ),
      cashout_id: fc.oneof(fc.nat().map(String), hostile.map(text)),
      date: fc.string({ maxLength: 30 }),
      status_reason: fc.string({ maxLength: 30 }),
    })
    .map((fields) => ({
      kind: 'raw' as const,
      value: new URLSearchParams(
        Object.entries(fields).map(([k, v]): [string, string] => [k, text(v).slice(0, 500)]),
      ).toString(),
      type: 'application/x-www-form-urlencoded',
    })),
  fc
    .record({
      paymentOrderNo: fc.oneof(fc.string(), hostile),
      externalReference: fc.oneof(fc.uuid(), hostile),
      transactionStatus: fc.oneof(fc.constantFrom('COMPLETED', 'REJECTED'), hostile),
    })
    .map((value) => ({ kind: 'json' as const, value })),
  fc
    .tuple(
      fc.uint8Array({ maxLength: 300 }),
      fc.constantFrom('application/json', 'application/x-www-form-urlencoded', 'text/plain'),
    )
    .map(([bytes, type]) => ({ kind: 'raw' as const, value: Buffer.from(bytes).toString('latin1'), type })),
);

function requestFor(operation: Operation): fc.Arbitrary<Generated> {
  const pathParams = operation.parameters.filter((p) => p.in === 'path');
  const queryParams = operation.parameters.filter((p) => p.in === 'query');
  const bodyArb: fc.Arbitrary<Generated['body']> = operation.path.startsWith('/v1/webhooks/')
    ? notificationBody
    : operation.body
      ? fc.oneof(
          { weight: 3, arbitrary: valid(operation.body, 0).map((value) => ({ kind: 'json' as const, value })) },
          { weight: 4, arbitrary: mutated(operation.body).map((value) => ({ kind: 'json' as const, value })) },
          { weight: 2, arbitrary: hostile.map((value) => ({ kind: 'json' as const, value })) },
          {
            weight: 1,
            arbitrary: fc
              .tuple(
                fc.constantFrom('{"a":', 'not json', '[1,2', '\u0000\u0001', 'a=1&b=2'),
                fc.constantFrom(
                  'application/json',
                  'text/plain',
                  'application/x-www-form-urlencoded',
                  'application/xml',
                ),
              )
              .map(([value, type]) => ({ kind: 'raw' as const, value, type })),
          },
          { weight: 1, arbitrary: fc.constant({ kind: 'none' as const }) },
        )
      : fc.oneof(
          { weight: 5, arbitrary: fc.constant({ kind: 'none' as const }) },
          { weight: 1, arbitrary: hostile.map((value) => ({ kind: 'json' as const, value })) },
        );
  return fc.record({
    auth: fc.constantFrom<Generated['auth']>('admin', 'admin', 'admin', 'none', 'garbage', 'read-only'),
    pathValues: fc.tuple(
      ...pathParams.map(() =>
        fc.oneof(
          fc.uuid(),
          fc.constantFrom('d24.simulator.default', 'connectpay.stage.x', 'not-a-uuid'),
          hostile.map(text),
        ),
      ),
    ),
    query: fc.tuple(
      ...queryParams.map((p) =>
        fc
          .option(fc.oneof(valid(p.schema, 1), hostile), { nil: undefined })
          .map((value) => [p.name, value] as [string, unknown]),
      ),
    ),
    body: bodyArb,
    idempotencyKey: fc.option(fc.oneof(fc.uuid(), hostile), { nil: undefined }),
  });
}

/** Every provider base URL variable set to a closed loopback port (discard, 9: nothing listens). */
function unreachableProviderHosts(): Record<string, string> {
  const variables: Record<string, string> = {};
  for (const descriptor of PROVIDER_DESCRIPTORS)
    for (const families of Object.values(descriptor.baseUrls))
      for (const host of Object.values(families as Record<string, { variable: string }>))
        variables[host.variable] = 'https://127.0.0.1:9';
  return variables;
}

/**
 * The one 5xx a fuzzed request may earn: a route that reads from a provider (the banks list,
 * a status sync) answers 503 PROVIDER_UNAVAILABLE or CIRCUIT_OPEN when the provider cannot be
 * reached, as it cannot here. Anything else over 499 is a defect.
 */
function providerUnreachable(status: number, text: string): boolean {
  if (status !== 503) return false;
  try {
    const code = (JSON.parse(text) as { error?: { code?: unknown } }).error?.code;
    return code === 'PROVIDER_UNAVAILABLE' || code === 'CIRCUIT_OPEN';
  } catch {
    return false;
  }
}

describe('fuzzing every route from openapi.json', () => {
  let t: TestApp;
  let base: string;
  let readOnlyKey: string;
  const secrets: string[] = [];

  beforeAll(async () => {
    // Rate limits off: thousands of requests from one address would otherwise turn most of them into 429s.
    t = await startTestApp({
      env: {
        LOG_LEVEL: 'silent',
        PROVIDER_CONNECT_TIMEOUT_MS: '200',
        PROVIDER_RESPONSE_TIMEOUT_MS: '300',
        RATE_LIMIT_AUTH_FAILURES: '0',
        RATE_LIMIT_PER_KEY: '0',
        RATE_LIMIT_WEBHOOKS_PER_SOURCE: '0',
        // NETWORK RULE: no packet beyond loopback. Every provider host (staging and production
        // defaults are real hosts) points at a closed local port, whatever credentials a fuzzed
        // request manages to store.
        ...unreachableProviderHosts(),
      },
    });
    // No real DNS from a test: event subscription hosts (e.g. the documented example) do not resolve here.
    jest
      .spyOn(t.app.get(DestinationResolver), 'lookup')
      .mockRejectedValue(Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }));
    await t.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;
    const keys = {
      environment: 'simulator',
      apiKey: 'fuzz-d24-key',
      apiPassphrase: 'fuzz-d24-pass',
      apiSignature: 'fuzz-d24-hmac-secret-value',
      readOnlyKey: 'fuzz-readonly-1',
    };
    await t.http.post('/v1/credentials/d24/keys').set(bearer(t.adminKey)).send(keys);
    await t.http
      .post('/v1/credentials/connectpay/api-client')
      .set(bearer(t.adminKey))
      .send({ environment: 'stage', clientKey: 'fuzz-client-key', clientSecret: 'fuzz-client-secret-value' });
    readOnlyKey = (
      await t.http
        .post('/v1/api-keys')
        .set(bearer(t.adminKey))
        .send({ name: 'fuzz read', scopes: ['payouts:read'] })
    ).body.key;
    secrets.push(
      t.adminKey,
      readOnlyKey,
      keys.apiKey,
      keys.apiPassphrase,
      keys.apiSignature,
      keys.readOnlyKey,
      'fuzz-client-secret-value',
    );
  });
  afterAll(() => t.close());

  /** Rows that a request could create; a rejected request must not change it. */
  const footprint = async (): Promise<string> =>
    JSON.stringify(
      await t.dataSource.query(`SELECT
        (SELECT count(*) FROM payouts) AS payouts, (SELECT count(*) FROM payout_events) AS payout_events,
        (SELECT count(*) FROM idempotency_keys) AS idempotency, (SELECT count(*) FROM credentials) AS credentials,
        (SELECT count(*) FROM credential_secrets) AS secrets, (SELECT count(*) FROM credential_events) AS credential_events,
        (SELECT count(*) FROM api_keys) AS api_keys, (SELECT count(*) FILTER (WHERE revoked_at IS NOT NULL) FROM api_keys) AS revoked,
        (SELECT count(*) FROM event_subscriptions) AS subscriptions, (SELECT count(*) FROM webhook_deliveries) AS webhook_deliveries`),
    );

  const total = Number(process.env.FUZZ_REQUESTS ?? 10_000);
  let sent = 0;

  it.each(operations.map((operation) => [`${operation.method} ${operation.path}`, operation]))(
    '%s',
    async (_name, operation) => {
      const runs = Math.ceil(total / operations.length);
      await fc.assert(
        fc.asyncProperty(requestFor(operation), async (generated) => {
          const op = operation;
          let index = 0;
          const url = new URL(
            base +
              op.path.replace(/\{[^}]+\}/g, () =>
                encodeURIComponent(text(generated.pathValues[index++]).slice(0, 200)),
              ),
          );
          for (const [name, value] of generated.query)
            if (value !== undefined) url.searchParams.set(name, text(value).slice(0, 2000));
          const headers: Record<string, string> = {};
          if (generated.auth === 'admin') Object.assign(headers, bearer(t.adminKey));
          if (generated.auth === 'read-only') Object.assign(headers, bearer(readOnlyKey));
          if (generated.auth === 'garbage') headers.Authorization = 'Bearer ' + 'g'.repeat(40);
          if (generated.idempotencyKey !== undefined)
            headers['Idempotency-Key'] = text(generated.idempotencyKey)
              .replace(/[^\x20-\x7e]/g, '?')
              .slice(0, 300);
          let body: string | undefined;
          if (op.method === 'GET') {
            // fetch cannot send a body with GET; the generated one is dropped.
          } else if (generated.body.kind === 'json') {
            body = JSON.stringify(tame(op, generated.body.value)) ?? 'null';
            headers['Content-Type'] = 'application/json';
          } else if (generated.body.kind === 'raw') {
            body = generated.body.value;
            headers['Content-Type'] = generated.body.type;
          }
          const before = await footprint();
          const response = await fetch(url, { method: op.method, headers, body });
          const responseText = await response.text();
          sent++;
          expect([
            op.method,
            op.path,
            response.status < 500 || providerUnreachable(response.status, responseText)
              ? 'no 5xx'
              : `${response.status}: ${responseText.slice(0, 300)}`,
          ]).toEqual([op.method, op.path, 'no 5xx']);
          for (const secret of secrets) expect(responseText.includes(secret)).toBe(false);
          // Hostile input must still get an answer the contract declares (status, media type, schema).
          const mediaType = response.headers.get('content-type') ?? '';
          expect(
            await contractViolation(op.method, String(url), {
              status: response.status,
              headers: { 'content-type': mediaType || undefined },
              body: mediaType.startsWith('application/json') && responseText ? JSON.parse(responseText) : responseText,
            }),
          ).toBeNull();
          if (response.status >= 400) {
            const parsed = JSON.parse(responseText) as { error: { code: string; message: string; details: unknown } };
            expect(Object.keys(parsed)).toEqual(['error']);
            expect(parsed.error.code).toMatch(/^[A-Z][A-Z0-9_]*$/);
            expect(typeof parsed.error.message).toBe('string');
            expect('details' in parsed.error).toBe(true);
            expect(await footprint()).toBe(before);
          }
        }),
        { numRuns: runs, seed: Number(process.env.FUZZ_SEED ?? 20261124), endOnFailure: true },
      );
    },
    300_000,
  );

  it(`sent at least the requested number of requests`, () => {
    expect(sent).toBeGreaterThanOrEqual(total);
  });
});
