import { revertLastMigration, runMigrations } from '../../src/database/migrator';
import type { TestApp } from '../support/test-app';
import { startTestApp } from '../support/test-app';

describe('health', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('serves liveness and readiness without an API key', async () => {
    const live = await t.http.get('/health');
    expect(live.status).toBe(200);
    expect(live.body).toEqual({ status: 'ok' });

    const ready = await t.http.get('/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.details).toEqual({
      database: { status: 'up' },
      migrations: { status: 'up' },
      credentials: { status: 'up' },
      providers: { status: 'up' },
    });
  });

  it('is not ready (503 NOT_READY) while a migration is pending, and ready again once applied', async () => {
    await revertLastMigration(t.database.url);
    try {
      const response = await t.http.get('/health/ready');
      expect(response.status).toBe(503);
      expect(response.body.error.code).toBe('NOT_READY');
      expect(response.body.error.details.details.migrations.status).toBe('down');
    } finally {
      await runMigrations(t.database.url);
    }
    expect((await t.http.get('/health/ready')).status).toBe(200);
  });
});
