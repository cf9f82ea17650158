import type { QueryRunner } from 'typeorm';
import type { TestApp } from '../support/test-app';
import { bearer, startTestApp } from '../support/test-app';

describe('when no database connection can be had in time', () => {
  let t: TestApp;
  let holder: QueryRunner | undefined;

  beforeAll(async () => {
    // One pooled connection, and a short wait for it, so the test can take the whole pool.
    t = await startTestApp({ env: { DATABASE_POOL_MAX: '1', DATABASE_POOL_WAIT_MS: '200' } });
  });
  afterAll(async () => {
    await holder?.release();
    await t.close();
  });

  it('answers 503 DATABASE_BUSY with Retry-After, and serves again once a connection is free', async () => {
    holder = t.dataSource.createQueryRunner();
    await holder.connect();
    await holder.startTransaction();

    const busy = await t.http.get('/v1/payouts').set(bearer(t.adminKey));
    expect(busy.status).toBe(503);
    expect(busy.headers['retry-after']).toBe('1');
    expect(busy.body).toEqual({
      error: {
        code: 'DATABASE_BUSY',
        message: expect.stringMatching(/^The service is too busy .*Retry in 1 second/) as unknown,
        details: { retryAfterSeconds: 1 },
      },
    });
    // The driver's wording stays out of the answer.
    expect(JSON.stringify(busy.body)).not.toContain('timeout exceeded');
    expect(t.logs.parsed().filter((line) => line.msg === 'no database connection in time')).not.toHaveLength(0);
    expect(t.logs.text).not.toContain('request failed unexpectedly');

    await holder.rollbackTransaction();
    await holder.release();
    holder = undefined;
    const served = await t.http.get('/v1/payouts').set(bearer(t.adminKey));
    expect(served.status).toBe(200);
  });
});
