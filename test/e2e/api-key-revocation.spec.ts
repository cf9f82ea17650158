import { eventually } from '../support/sim-client';
import type { TestApp } from '../support/test-app';
import { bearer, startTestApp } from '../support/test-app';

/**
 * Keys found by their hash are trusted for at most a second without asking the database (the
 * lookup is off the hot path). A revocation applies at once on the replica that made it, and
 * within that second on every other one.
 */
describe('API key revocation with the lookup cache, across replicas', () => {
  let first: TestApp;
  let second: TestApp;

  beforeAll(async () => {
    first = await startTestApp();
    second = await startTestApp({ database: first.database, env: { ADMIN_API_KEY: first.adminKey } });
  });
  afterAll(async () => {
    await second.close();
    await first.close();
  });

  it('refuses a revoked key at once where it was revoked, and within a second on the other replica', async () => {
    const created = await first.http
      .post('/v1/api-keys')
      .set(bearer(first.adminKey))
      .send({ name: 'short-lived', scopes: ['payouts:read'] });
    expect(created.status).toBe(201);
    const key = created.body.key as string;
    // Both replicas have it cached now.
    expect((await first.http.get('/v1/payouts').set(bearer(key))).status).toBe(200);
    expect((await second.http.get('/v1/payouts').set(bearer(key))).status).toBe(200);

    expect((await first.http.delete(`/v1/api-keys/${created.body.id}`).set(bearer(first.adminKey))).status).toBe(200);
    expect((await first.http.get('/v1/payouts').set(bearer(key))).status).toBe(401);

    const revokedAt = Date.now();
    const status = await eventually(
      async () => (await second.http.get('/v1/payouts').set(bearer(key))).status,
      (answered) => answered !== 200,
      3_000,
    );
    expect(status).toBe(401);
    // The cache's bound is one second; the margin is the polling step and a loaded machine.
    expect(Date.now() - revokedAt).toBeLessThan(1_500);
  });

  it('never caches an unknown key: a key created on one replica works on the other at once', async () => {
    const created = await second.http
      .post('/v1/api-keys')
      .set(bearer(second.adminKey))
      .send({ name: 'fresh', scopes: ['payouts:read'] });
    expect((await first.http.get('/v1/payouts').set(bearer(created.body.key as string))).status).toBe(200);
  });
});
