import { existsSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { ApiKeyEntity } from '../../src/api-keys/api-key.entity';
import { eventually } from '../support/sim-client';
import type { TestApp } from '../support/test-app';
import { bearer, startTestApp } from '../support/test-app';

describe('API keys and authentication (real HTTP stack, real PostgreSQL)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  async function createKey(
    scopes: string[],
    extra: Record<string, unknown> = {},
  ): Promise<{ id: string; key: string }> {
    const response = await t.http
      .post('/v1/api-keys')
      .set(bearer(t.adminKey))
      .send({ name: 'test key', scopes, ...extra });
    expect(response.status).toBe(201);
    return { id: response.body.id, key: response.body.key };
  }

  it('refuses a request without a key with 401 UNAUTHENTICATED', async () => {
    const response = await t.http.get('/v1/api-keys');
    expect(response.status).toBe(401);
    expect(response.body.error.code).toBe('UNAUTHENTICATED');
    expect(response.body.error.message).toMatch(/Authorization: Bearer/);
  });

  it.each([
    ['an unknown key', 'Bearer pbk_doesnotexistdoesnotexistdoesnotexist'],
    ['a non-bearer scheme', 'Basic dXNlcjpwYXNz'],
    ['an empty bearer', 'Bearer '],
  ])('refuses %s with 401', async (_case, header) => {
    const response = await t.http.get('/v1/api-keys').set('Authorization', header);
    expect(response.status).toBe(401);
    expect(response.body.error.code).toBe('UNAUTHENTICATED');
  });

  it('creates a key that is shown once, stores only its hash and lists it masked', async () => {
    const created = await t.http
      .post('/v1/api-keys')
      .set(bearer(t.adminKey))
      .send({ name: 'frontend', scopes: ['payouts:write', 'payouts:read'] });
    expect(created.status).toBe(201);
    expect(created.body.key).toMatch(/^pbk_[A-Za-z0-9_-]{32}$/);
    expect(created.body.scopes).toEqual(['payouts:read', 'payouts:write']);
    expect(created.body.maskedKey).toBe(`${created.body.key.slice(0, 12)}…${created.body.key.slice(-4)}`);

    const listed = await t.http.get('/v1/api-keys').set(bearer(t.adminKey));
    expect(listed.status).toBe(200);
    expect(JSON.stringify(listed.body)).not.toContain(created.body.key);
    expect(listed.body.map((key: { id: string }) => key.id)).toContain(created.body.id);

    const fetched = await t.http.get(`/v1/api-keys/${created.body.id}`).set(bearer(t.adminKey));
    expect(fetched.status).toBe(200);
    expect(fetched.body).not.toHaveProperty('key');

    const rows = await t.dataSource.getRepository(ApiKeyEntity).find();
    const everything = JSON.stringify(rows);
    expect(everything).not.toContain(created.body.key);
    expect(everything).not.toContain(t.adminKey);
    expect(everything).not.toContain(created.body.key.slice(12, -4));
  });

  it('answers 403 FORBIDDEN_SCOPE naming the missing scope', async () => {
    const { key } = await createKey(['payouts:read']);
    const response = await t.http.get('/v1/api-keys').set(bearer(key));
    expect(response.status).toBe(403);
    expect(response.body.error).toMatchObject({
      code: 'FORBIDDEN_SCOPE',
      details: { requiredScopes: ['keys:admin'], missingScopes: ['keys:admin'] },
    });
    expect(response.body.error.message).toContain('keys:admin');
  });

  it('refuses a revoked key with 401 from the next request on, and revoking twice is harmless', async () => {
    const { id, key } = await createKey(['keys:admin']);
    expect((await t.http.get('/v1/api-keys').set(bearer(key))).status).toBe(200);

    const revoked = await t.http.delete(`/v1/api-keys/${id}`).set(bearer(t.adminKey));
    expect(revoked.status).toBe(200);
    expect(revoked.body.status).toBe('revoked');
    expect((await t.http.get('/v1/api-keys').set(bearer(key))).status).toBe(401);
    expect((await t.http.delete(`/v1/api-keys/${id}`).set(bearer(t.adminKey))).status).toBe(200);

    const active = await t.http.get('/v1/api-keys').set(bearer(t.adminKey));
    expect(active.body.map((k: { id: string }) => k.id)).not.toContain(id);
    const all = await t.http.get('/v1/api-keys?includeRevoked=true').set(bearer(t.adminKey));
    expect(all.body.map((k: { id: string }) => k.id)).toContain(id);
  });

  it('refuses an expired key with 401', async () => {
    const { id, key } = await createKey(['keys:admin'], { expiresAt: new Date(Date.now() + 60_000).toISOString() });
    expect((await t.http.get('/v1/api-keys').set(bearer(key))).status).toBe(200);
    // Changed behind the service's back: a found key is trusted for up to a second (the lookup
    // cache), so the change applies within that second.
    await t.dataSource.getRepository(ApiKeyEntity).update({ id }, { expiresAt: new Date(Date.now() - 1000) });
    const changedAt = Date.now();
    const status = await eventually(
      async () => (await t.http.get('/v1/api-keys').set(bearer(key))).status,
      (answered) => answered !== 200,
      3_000,
    );
    expect(status).toBe(401);
    expect(Date.now() - changedAt).toBeLessThan(1_500);
  });

  it('refuses a key the moment its expiry passes, even while it is cached', async () => {
    const { key } = await createKey(['keys:admin'], { expiresAt: new Date(Date.now() + 1_500).toISOString() });
    expect((await t.http.get('/v1/api-keys').set(bearer(key))).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1_600));
    expect((await t.http.get('/v1/api-keys').set(bearer(key))).status).toBe(401);
  });

  it('rejects bad key requests with per-field details and writes nothing', async () => {
    const before = await t.dataSource.getRepository(ApiKeyEntity).count();
    const response = await t.http
      .post('/v1/api-keys')
      .set(bearer(t.adminKey))
      .send({ name: '', scopes: ['payouts:read', 'root'], expiresAt: '2001-01-01T00:00:00Z', admin: true });
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('VALIDATION_FAILED');
    const fields = response.body.error.details.map((problem: { field: string }) => problem.field);
    expect(fields).toEqual(expect.arrayContaining(['name', 'scopes', 'admin']));

    const past = await t.http
      .post('/v1/api-keys')
      .set(bearer(t.adminKey))
      .send({ name: 'late', scopes: ['payouts:read'], expiresAt: '2001-01-01T00:00:00Z' });
    expect(past.status).toBe(400);
    expect(past.body.error.details).toEqual([
      { field: 'expiresAt', code: 'IN_THE_PAST', message: 'must be in the future' },
    ]);
    expect(await t.dataSource.getRepository(ApiKeyEntity).count()).toBe(before);
  });

  it('answers 404 NOT_FOUND for an unknown key id and 400 for a malformed one', async () => {
    const missing = await t.http.get('/v1/api-keys/00000000-0000-4000-8000-000000000000').set(bearer(t.adminKey));
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('NOT_FOUND');
    const malformed = await t.http.get('/v1/api-keys/not-a-uuid').set(bearer(t.adminKey));
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.details).toEqual([{ field: 'id', code: 'IS_UUID', message: 'must be a UUID' }]);
  });

  it('never logs a key', async () => {
    const { key } = await createKey(['payouts:read']);
    await t.http.get('/v1/api-keys').set(bearer(key));
    expect(t.logs.lines.length).toBeGreaterThan(0);
    expect(t.logs.text).not.toContain(key);
    expect(t.logs.text).not.toContain(t.adminKey);
    expect(t.logs.text).toContain('[REDACTED]');
  });
});

describe('the admin key', () => {
  it('refuses to revoke the last active keys:admin key (409 LAST_ADMIN_KEY)', async () => {
    const t = await startTestApp();
    try {
      const keys = await t.http.get('/v1/api-keys').set(bearer(t.adminKey));
      const [admin] = keys.body;
      const response = await t.http.delete(`/v1/api-keys/${admin.id}`).set(bearer(t.adminKey));
      expect(response.status).toBe(409);
      expect(response.body.error.code).toBe('LAST_ADMIN_KEY');
    } finally {
      await t.close();
    }
  });

  it('follows ADMIN_API_KEY: changing the variable revokes the old key', async () => {
    const first = await startTestApp();
    const second = await startTestApp({ database: first.database });
    try {
      expect((await second.http.get('/v1/api-keys').set(bearer(second.adminKey))).status).toBe(200);
      expect((await second.http.get('/v1/api-keys').set(bearer(first.adminKey))).status).toBe(401);
    } finally {
      await second.close();
      await first.close();
    }
  });

  it('is generated on a first start without ADMIN_API_KEY, saved owner-only in DATA_DIR, and not again', async () => {
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const first = await startTestApp({ env: { ADMIN_API_KEY: undefined } });
    try {
      const file = path.join(first.dataDir, 'admin-api-key');
      expect(existsSync(file)).toBe(true);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const key = readFileSync(file, 'utf8').trim();
      const printed = write.mock.calls.map(([chunk]) => String(chunk)).join('');
      expect(printed).toContain(key);
      expect((await first.http.get('/v1/api-keys').set(bearer(key))).status).toBe(200);
      expect(first.logs.text).not.toContain(key);

      write.mockClear();
      const again = await startTestApp({ env: { ADMIN_API_KEY: undefined }, database: first.database });
      try {
        expect(existsSync(path.join(again.dataDir, 'admin-api-key'))).toBe(false);
        expect(write.mock.calls.map(([chunk]) => String(chunk)).join('')).not.toContain('pbk_');
      } finally {
        await again.close();
      }
    } finally {
      write.mockRestore();
      await first.close();
    }
  });
});
