import { contractViolation } from '../support/contract';

/** The response checker every e2e answer goes through must itself catch what it is there to catch. */
describe('the contract checker (test/support/contract.ts)', () => {
  const json = { 'content-type': 'application/json; charset=utf-8' };
  const error = (code: string) => ({ error: { code, message: 'What to fix.', details: null } });

  it('accepts a declared status, media type and body', async () => {
    expect(
      await contractViolation('GET', '/health', { status: 200, headers: json, body: { status: 'ok' } }),
    ).toBeNull();
    expect(
      await contractViolation('GET', '/v1/payouts/3f1c1b7e-8a3e-4c1e-9d4b-2b1f0a9c8d7e', {
        status: 404,
        headers: json,
        body: error('NOT_FOUND'),
      }),
    ).toBeNull();
  });

  it('refuses a status the operation does not declare', async () => {
    expect(await contractViolation('GET', '/health', { status: 418, headers: json, body: error('INTERNAL') })).toMatch(
      /status 418 is not declared/,
    );
  });

  it('refuses a media type the status does not declare', async () => {
    expect(
      await contractViolation('GET', '/health', {
        status: 200,
        headers: { 'content-type': 'text/html' },
        body: '<p>ok</p>',
      }),
    ).toMatch(/media type text\/html is not declared/);
  });

  it('refuses a body that breaks the schema: an unknown error code, a missing field, a wrong type', async () => {
    const unknownCode = await contractViolation('GET', '/health', {
      status: 500,
      headers: json,
      body: error('SOMETHING_NEW'),
    });
    expect(unknownCode).toMatch(/does not match the schema/);
    expect(await contractViolation('GET', '/health', { status: 200, headers: json, body: { status: 'fine' } })).toMatch(
      /does not match the schema/,
    );
    expect(
      await contractViolation('GET', '/v1/payouts', { status: 200, headers: json, body: { items: {}, nextCursor: 1 } }),
    ).toMatch(/does not match the schema/);
  });

  it('refuses a field the schema does not declare (a leak), in answers and in errors', async () => {
    expect(
      await contractViolation('GET', '/health', { status: 200, headers: json, body: { status: 'ok', secret: 'x' } }),
    ).toMatch(/"keyword":"additionalProperties"/);
    expect(
      await contractViolation('GET', '/health', {
        status: 500,
        headers: json,
        body: { error: { code: 'INTERNAL', message: 'x', details: null, stack: 'at …' } },
      }),
    ).toMatch(/"keyword":"additionalProperties"/);
  });

  it('checks formats (uuid, date-time) rather than ignoring them', async () => {
    const subscription = {
      id: '3f1c1b7e-8a3e-4c1e-9d4b-2b1f0a9c8d7e',
      url: 'https://example.com/hook',
      events: ['payout.status_changed'],
      secretHint: '…x9Qa',
      previousSecretExpiresAt: null,
      secretRotatedAt: null,
      createdAt: '2026-12-04T10:00:00.000Z',
      disabledAt: null,
    };
    const answer = (body: unknown) =>
      contractViolation('GET', '/v1/event-subscriptions', { status: 200, headers: json, body });
    expect(await answer([subscription])).toBeNull();
    expect(await answer([{ ...subscription, id: 'not-a-uuid' }])).toMatch(/"keyword":"format"/);
    expect(await answer([{ ...subscription, createdAt: 'yesterday' }])).toMatch(/"keyword":"format"/);
  });

  it('leaves paths the document does not describe alone', async () => {
    expect(
      await contractViolation('GET', '/docs', { status: 200, headers: { 'content-type': 'text/html' }, body: '' }),
    ).toBeNull();
  });

  it('under /v1, allows an unknown route only "no such route" and the refusals that come before routing', async () => {
    const json = { 'content-type': 'application/json' };
    const error = (code: string, details: unknown = null) => ({ error: { code, message: 'm', details } });
    const check = (status: number, body: unknown) =>
      contractViolation('POST', '/v1/payouts//approve', { status, headers: json, body });
    expect(await check(404, error('NOT_FOUND'))).toBeNull();
    expect(await check(400, error('MALFORMED_JSON'))).toBeNull();
    expect(
      await check(400, error('VALIDATION_FAILED', [{ field: 'x', code: 'NUL_CHARACTER', message: 'm' }])),
    ).toBeNull();
    // A route's own validation on a path the document lacks: the route is missing from the document.
    expect(await check(400, error('VALIDATION_FAILED', [{ field: 'x', code: 'isString', message: 'm' }]))).toMatch(
      /no operation in openapi.json describes this route/,
    );
    expect(await check(200, {})).toMatch(/no operation/);
  });
});
