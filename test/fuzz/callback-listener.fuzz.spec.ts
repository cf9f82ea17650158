import fc from 'fast-check';
import { VerestroCallbackServer } from '../../src/providers/verestro/verestro-callbacks.server';
import type { ClientIdentity } from '../support/callback-client';
import { open, readAnswer, sleep } from '../support/callback-client';
import { opensslCsr } from '../support/csr';
import type { TestApp } from '../support/test-app';
import { bearer, startTestApp } from '../support/test-app';

/**
 * Random requests to the Verestro callback listener over mutual TLS with a valid client
 * certificate (so every one reaches HTTP): methods, paths, headers, Content-Length lies, chunked
 * bodies, Content-Encoding, random bytes and JSON, some aborted mid-body. Whatever comes in: no
 * 5xx, every error in the project's shape with X-Request-ID, nothing in webhook_deliveries for a
 * refused request, and the listener still answers at the end.
 * FUZZ_SEED fixes the sequence (as in openapi.fuzz.spec.ts); FUZZ_CALLBACK_REQUESTS sets how many (default 300).
 */
const PATH = '/v1/webhooks/verestro';
const BODY_LIMIT = 2048;
const HEADER_VALUE = /^[\x20-\x7e]*$/;

interface Generated {
  method: string;
  path: string;
  headers: Array<[string, string]>;
  body: Buffer;
  framing: 'exact' | 'longer' | 'shorter' | 'chunked' | 'none' | 'both' | 'abort';
  cut: number;
}

const printable = (maxLength: number) => fc.string({ maxLength }).filter((value) => HEADER_VALUE.test(value));

const callbackJson = fc
  .record(
    {
      event: fc.constantFrom('PAYOUT_STATUS_CHANGED', 'OTHER'),
      orderId: fc.oneof(
        fc.uuid(),
        fc.string({ maxLength: 30 }),
        fc.integer(),
        fc.constant(null),
        fc.constant('a\u0000b'),
      ),
      externalId: fc.oneof(fc.uuid(), fc.string({ maxLength: 10 })),
      status: fc.constantFrom('COMPLETED', 'FAILED', 'PENDING', '???'),
    },
    { requiredKeys: [] },
  )
  .map((value) => JSON.stringify(value));

const body: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 4, arbitrary: callbackJson.map((text) => Buffer.from(text)) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((value) => Buffer.from(JSON.stringify(value) ?? 'null')) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 600 }).map((bytes) => Buffer.from(bytes)) },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom('', 'null', '[]', '{', '{"orderId":', '\u0000', '{"orderId":"' + 'y'.repeat(BODY_LIMIT) + '"}')
      .map((text) => Buffer.from(text)),
  },
  {
    weight: 1,
    arbitrary: fc.integer({ min: BODY_LIMIT + 1, max: BODY_LIMIT * 4 }).map((size) => Buffer.alloc(size, '{')),
  },
);

const request: fc.Arbitrary<Generated> = fc.record({
  method: fc.oneof(
    { weight: 10, arbitrary: fc.constant('POST') },
    {
      weight: 2,
      arbitrary: fc.constantFrom('GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'post', 'BREW', 'P0ST'),
    },
  ),
  path: fc.oneof(
    { weight: 12, arbitrary: fc.constant(PATH) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        `${PATH}?a=1`,
        `${PATH}/`,
        '/',
        '*',
        '/V1/WEBHOOKS/VERESTRO',
        '/v1/webhooks/d24',
        `/${PATH}`,
        `${PATH}%00`,
        `${PATH}/../verestro`,
      ),
    },
    {
      weight: 1,
      arbitrary: fc
        .string({ minLength: 1, maxLength: 40 })
        .filter((s) => /^[\x21-\x7e]+$/.test(s))
        .map((s) => `/${s}`),
    },
  ),
  headers: fc
    .tuple(
      fc.oneof(
        { weight: 8, arbitrary: fc.constantFrom('application/json', 'application/json; charset=utf-8', undefined) },
        {
          weight: 2,
          arbitrary: fc.constantFrom(
            'application/json; charset=latin1',
            'APPLICATION/JSON',
            'application/vnd.verestro+json',
            'text/plain',
            'application/x-www-form-urlencoded',
            'multipart/form-data; boundary=x',
            '',
          ),
        },
      ),
      fc.oneof(
        { weight: 8, arbitrary: fc.constant(undefined) },
        {
          weight: 2,
          arbitrary: fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'gzip, identity', 'x-unknown', ''),
        },
      ),
      fc.option(fc.oneof(fc.uuid(), printable(60)), { nil: undefined }),
      fc.option(fc.oneof(fc.uuid(), printable(200)), { nil: undefined }),
      fc.array(fc.tuple(fc.stringMatching(/^X-Fuzz-[A-Za-z0-9]{1,8}$/), printable(100)), { maxLength: 3 }),
    )
    .map(([contentType, contentEncoding, idempotencyKey, requestId, extra]) => {
      const headers: Array<[string, string]> = [];
      if (contentType !== undefined) headers.push(['Content-Type', contentType]);
      if (contentEncoding !== undefined) headers.push(['Content-Encoding', contentEncoding]);
      if (idempotencyKey !== undefined) headers.push(['X-Idempotency-Key', idempotencyKey]);
      if (requestId !== undefined) headers.push(['X-Request-ID', requestId]);
      return [...headers, ...extra];
    }),
  body,
  framing: fc.oneof(
    { weight: 12, arbitrary: fc.constant('exact' as const) },
    { weight: 2, arbitrary: fc.constantFrom('shorter' as const, 'chunked' as const, 'none' as const, 'both' as const) },
    { weight: 2, arbitrary: fc.constant('abort' as const) },
    { weight: 1, arbitrary: fc.constant('longer' as const) },
  ),
  cut: fc.nat(),
});

/** The bytes on the wire for a generated request; `abortAfter` is where an aborting client stops. */
function wire(generated: Generated): { bytes: Buffer; abortAfter: number | null } {
  const { body: content, framing } = generated;
  const lines = [
    `${generated.method} ${generated.path} HTTP/1.1`,
    'Host: localhost',
    ...generated.headers.map(([name, value]) => `${name}: ${value}`),
  ];
  let payload = content;
  if (framing === 'exact' || framing === 'abort') lines.push(`Content-Length: ${content.length}`);
  if (framing === 'longer') lines.push(`Content-Length: ${content.length + 1 + (generated.cut % 100)}`);
  if (framing === 'shorter') lines.push(`Content-Length: ${content.length === 0 ? 0 : generated.cut % content.length}`);
  if (framing === 'chunked' || framing === 'both') {
    lines.push('Transfer-Encoding: chunked');
    if (framing === 'both') lines.push(`Content-Length: ${content.length}`);
    payload = Buffer.concat([
      content.length ? Buffer.from(`${content.length.toString(16)}\r\n`) : Buffer.alloc(0),
      content,
      Buffer.from(content.length ? '\r\n0\r\n\r\n' : '0\r\n\r\n'),
    ]);
  }
  if (framing === 'none') payload = Buffer.alloc(0);
  const head = Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1');
  // An aborting client stops strictly inside the body, so the server never sees a complete request.
  const abortAfter =
    framing === 'abort' ? head.length + (content.length > 1 ? generated.cut % content.length : 0) : null;
  return { bytes: Buffer.concat([head, payload]), abortAfter };
}

describe('fuzzing the Verestro callback listener', () => {
  let t: TestApp;
  let url: string;
  let identity: ClientIdentity;
  const total = Number(process.env.FUZZ_CALLBACK_REQUESTS ?? 300);
  const seed = Number(process.env.FUZZ_SEED ?? 20261124);
  const statuses = new Map<number, number>();

  beforeAll(async () => {
    t = await startTestApp({
      env: {
        LOG_LEVEL: 'warn',
        VERESTRO_CALLBACK_PORT: '0',
        HTTP_HEADERS_TIMEOUT_MS: '250',
        HTTP_REQUEST_TIMEOUT_MS: '400',
        WEBHOOK_BODY_LIMIT_BYTES: String(BODY_LIMIT),
      },
    });
    url = t.app.get(VerestroCallbackServer).url as string;
    const { csrPem, keyPem } = opensslCsr({ subject: '/CN=Verestro Callbacks Fuzz', key: 'ec:P-256' });
    const signed = await t.http
      .post('/v1/credentials/verestro/callback-certificate')
      .set(bearer(t.adminKey))
      .send({ environment: 'simulator', csrPem });
    expect(signed.status).toBe(201);
    identity = { ca: signed.body.caPem, cert: signed.body.certificatePem, key: keyPem };
  });
  afterAll(() => t.close());

  const deliveries = async (): Promise<number> =>
    (await t.dataSource.query('SELECT count(*)::int AS n FROM webhook_deliveries'))[0].n;

  it(`${total} random requests: no 5xx, the error shape and X-Request-ID on every error, nothing recorded for a refusal`, async () => {
    await fc.assert(
      fc.asyncProperty(request, async (generated) => {
        const { bytes, abortAfter } = wire(generated);
        const before = await deliveries();
        const socket = await open(url, identity);
        try {
          if (abortAfter !== null) {
            socket.write(bytes.subarray(0, abortAfter));
            await sleep(5);
            socket.destroy();
            await sleep(5);
            expect(await deliveries()).toBe(before);
            statuses.set(-1, (statuses.get(-1) ?? 0) + 1);
            return;
          }
          const pending = readAnswer(socket, 5_000, { bodyless: generated.method === 'HEAD' });
          socket.write(bytes);
          const answer = await pending;
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
          const label = `${generated.method} ${generated.path} ${generated.framing} → ${answer.status} ${answer.text.slice(0, 200)}`;
          expect([label, answer.status >= 100 && answer.status < 500]).toEqual([label, true]);
          expect(answer.headers['x-request-id']).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
          if (answer.status >= 400) {
            if (generated.method !== 'HEAD') {
              const parsed = JSON.parse(answer.text) as { error: { code: string; message: string; details: unknown } };
              expect(Object.keys(parsed)).toEqual(['error']);
              expect(Object.keys(parsed.error)).toEqual(['code', 'message', 'details']);
              expect(parsed.error.code).toMatch(/^[A-Z][A-Z0-9_]*$/);
              expect(parsed.error.message).toMatch(/\.$/);
            }
            expect(await deliveries()).toBe(before);
          }
        } finally {
          socket.destroy();
        }
      }),
      { numRuns: total, seed, endOnFailure: true },
    );
    // The listener is still there and still does its job.
    const socket = await open(url, identity);
    try {
      const pending = readAnswer(socket);
      const ok = '{"orderId":"after-the-fuzz"}';
      socket.write(
        `POST ${PATH} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${ok.length}\r\n\r\n${ok}`,
      );
      expect((await pending).status).toBe(200);
    } finally {
      socket.destroy();
    }
    // The run exercised the listener's paths, not one of them.
    if (process.env.FUZZ_VERBOSE)
      process.stdout.write(
        `callback fuzz answers by status (-1: aborted): ${JSON.stringify(Object.fromEntries(statuses))}\n`,
      );
    if (total >= 300)
      for (const status of [-1, 200, 400, 404, 408, 413, 415])
        expect([status, (statuses.get(status) ?? 0) > 0]).toEqual([status, true]);
  }, 120_000);
});
