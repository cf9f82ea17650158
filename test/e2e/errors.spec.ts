import { ApiKeyEntity } from '../../src/api-keys/api-key.entity';
import type { TestApp } from '../support/test-app';
import { bearer, startTestApp } from '../support/test-app';

/** Every error leaves in one shape: {"error":{"code","message","details"}}. */
function expectErrorShape(body: unknown, code: string): void {
  const error = (body as { error: Record<string, unknown> }).error;
  expect(Object.keys(body as object)).toEqual(['error']);
  expect(Object.keys(error).sort()).toEqual(['code', 'details', 'message']);
  expect(error.code).toBe(code);
  expect(typeof error.message).toBe('string');
}

describe('error responses', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  const countKeys = () => t.dataSource.getRepository(ApiKeyEntity).count();

  it('answers malformed JSON with 400 MALFORMED_JSON and writes nothing', async () => {
    const before = await countKeys();
    const response = await t.http
      .post('/v1/api-keys')
      .set(bearer(t.adminKey))
      .set('Content-Type', 'application/json')
      .send('{"name": "x", "scopes": [');
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('MALFORMED_JSON');
    expect(Object.keys(response.body.error).sort()).toEqual(['code', 'details', 'message']);
    expect(await countKeys()).toBe(before);
  });

  it('answers a body over 1 MB with 413 PAYLOAD_TOO_LARGE', async () => {
    const response = await t.http
      .post('/v1/api-keys')
      .set(bearer(t.adminKey))
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ name: 'x'.repeat(1024 * 1024), scopes: ['payouts:read'] }));
    expect(response.status).toBe(413);
    expect(response.body.error).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', details: { limitBytes: 1048576 } });
  });

  it('accepts a body just under the limit as far as validation', async () => {
    const response = await t.http
      .post('/v1/api-keys')
      .set(bearer(t.adminKey))
      .send({ name: 'x'.repeat(1000 * 1000), scopes: ['payouts:read'] });
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('VALIDATION_FAILED');
    expect(response.body.error.details[0]).toMatchObject({ field: 'name', code: 'IS_LENGTH' });
  });

  it('rejects unknown fields, naming each', async () => {
    const response = await t.http
      .post('/v1/api-keys')
      .set(bearer(t.adminKey))
      .send({ name: 'ok', scopes: ['payouts:read'], isAdmin: true, nested: { a: 1 } });
    expect(response.status).toBe(400);
    expect(response.body.error.details).toEqual(
      expect.arrayContaining([
        { field: 'isAdmin', code: 'UNKNOWN_FIELD', message: 'is not a known field; remove it' },
        { field: 'nested', code: 'UNKNOWN_FIELD', message: 'is not a known field; remove it' },
      ]),
    );
  });

  it.each([
    ['a JSON array', []],
    ['a JSON string', '"just a string"'],
    ['null', 'null'],
  ])('rejects %s as the body with a 4xx in the error shape', async (_case, payload) => {
    const response = await t.http
      .post('/v1/api-keys')
      .set(bearer(t.adminKey))
      .set('Content-Type', 'application/json')
      .send(typeof payload === 'string' ? payload : JSON.stringify(payload));
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
    expect(typeof response.body.error.code).toBe('string');
  });

  it('refuses a NUL character anywhere (PostgreSQL cannot store it) with 400, naming the field', async () => {
    const response = await t.http
      .post('/v1/api-keys')
      .set(bearer(t.adminKey))
      .send({ name: 'a\u0000b', scopes: ['payouts:read'] });
    expect(response.status).toBe(400);
    expect(response.body.error.details).toEqual([
      { field: 'name', code: 'NUL_CHARACTER', message: 'must not contain the NUL character (U+0000)' },
    ]);
    const query = await t.http.get('/v1/api-keys?includeRevoked=%00').set(bearer(t.adminKey));
    expect(query.body.error.details[0]).toMatchObject({ field: 'includeRevoked', code: 'NUL_CHARACTER' });
  });

  it('refuses an object with more fields than any this API reads, before validation spends time on it', async () => {
    const metadata = Object.fromEntries(Array.from({ length: 50_000 }, (_, index) => [`k${index}`, 'v']));
    // Refused by its shape, before class-transformer (whose work grows with the square of an
    // object's keys: 50,000 took about 2 s) sees it.
    const response = await t.http
      .post('/v1/payouts')
      .set(bearer(t.adminKey))
      .set('Idempotency-Key', 'wide-metadata')
      .send({ provider: 'd24', environment: 'simulator', amount: '1.00', currency: 'BRL', metadata });
    expect(response.status).toBe(400);
    expect(response.body.error.details).toEqual([
      { field: 'metadata', code: 'TOO_MANY_FIELDS', message: expect.stringContaining('more than 64 fields') },
    ]);
    const batch = await t.http
      .post('/v1/payout-batches')
      .set(bearer(t.adminKey))
      .set('Idempotency-Key', 'wide-item')
      .send({ dryRun: true, items: [{ provider: 'd24', beneficiary: metadata }] });
    expect(batch.status).toBe(400);
    expect(batch.body.error.details[0]).toMatchObject({ field: 'items.0.beneficiary', code: 'TOO_MANY_FIELDS' });
    // Nesting deeper than any request this API reads is refused too (not skipped by the check).
    let deep: Record<string, unknown> = { wide: metadata };
    for (let level = 0; level < 20; level++) deep = { nested: deep };
    const tooDeep = await t.http
      .post('/v1/payouts')
      .set(bearer(t.adminKey))
      .set('Idempotency-Key', 'deep-metadata')
      .send({ provider: 'd24', environment: 'simulator', amount: '1.00', currency: 'BRL', metadata: deep });
    expect(tooDeep.status).toBe(400);
    expect(tooDeep.body.error.details[0]).toMatchObject({ code: 'TOO_DEEP' });
  });

  it('answers a non-JSON body with 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    const response = await t.http
      .post('/v1/api-keys')
      .set(bearer(t.adminKey))
      .set('Content-Type', 'text/plain')
      .send('name=x');
    expect(response.status).toBe(415);
    expect(response.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('answers an unknown route with 404 NOT_FOUND', async () => {
    const response = await t.http.get('/v1/nothing-here').set(bearer(t.adminKey));
    expect(response.status).toBe(404);
    expectErrorShape(response.body, 'NOT_FOUND');
    expect(response.body.error.message).toContain('GET /v1/nothing-here');
  });

  it('answers an unexpected failure with 500 INTERNAL and no SQL, stack or driver text', async () => {
    const broken = await startTestApp();
    try {
      await broken.dataSource.query('ALTER TABLE api_keys RENAME COLUMN name TO name_gone');
      const response = await broken.http.get('/v1/api-keys').set(bearer(broken.adminKey));
      expect(response.status).toBe(500);
      expect(response.body.error.code).toBe('INTERNAL');
      expect(response.body.error.details).toBeNull();
      const text = JSON.stringify(response.body);
      for (const leak of ['SELECT', 'api_keys', 'column', 'at ', 'QueryFailedError', 'name_gone']) {
        expect(text).not.toContain(leak);
      }
      expect(response.body.error.message).toContain(response.headers['x-request-id']);
      const logged = broken.logs.parsed().find((line) => line.msg === 'request failed unexpectedly');
      expect(logged).toBeDefined();
      expect(JSON.stringify(logged)).not.toContain(broken.adminKey);
    } finally {
      await broken.close();
    }
  });

  it('echoes a sane X-Request-ID and makes one up otherwise', async () => {
    const given = await t.http.get('/health').set('X-Request-ID', 'trace-abc.123');
    expect(given.headers['x-request-id']).toBe('trace-abc.123');
    const hostile = await t.http.get('/health').set('X-Request-ID', 'bad id\twith spaces');
    expect(hostile.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});
