import { randomUUID } from 'node:crypto';
import { Environment } from '../../src/config/environment';
import { InstanceLiveness } from '../../src/database/instance-liveness';
import { admin, eventually } from '../support/sim-client';
import type { ProviderWorld } from '../support/provider-world';
import { startProviderWorld } from '../support/provider-world';
import type { TestApp } from '../support/test-app';
import { bearer, startTestApp } from '../support/test-app';

const beneficiary = {
  type: 'latam_bank_account',
  country: 'BR',
  name: 'Ana',
  documentId: '84932568207',
  bankCode: 1,
  bankAccount: '424242',
  bankBranch: '0001',
  accountType: 'C',
};

/**
 * A retried POST /v1/payouts whose first attempt is still running, or died with its process:
 * two instances on one database (as two replicas, or a restarted one), the D24 simulator slowed
 * down so that the first attempt is caught in the middle of its provider call.
 */
describe('idempotency: a retry never waits out a dead first attempt', () => {
  let world: ProviderWorld;
  let other: TestApp;

  beforeAll(async () => {
    world = await startProviderWorld({ PROVIDER_RESPONSE_TIMEOUT_MS: '6000', IDEMPOTENCY_WAIT_MS: '300' }, 23);
    const environment = world.t.app.get(Environment);
    other = await startTestApp({
      database: world.t.database,
      env: {
        ADMIN_API_KEY: world.t.adminKey,
        D24_SIMULATOR_URL: world.sims.urls.d24,
        PROVIDER_CA_FILE: environment.PROVIDER_CA_FILE,
        PROVIDER_RESPONSE_TIMEOUT_MS: '6000',
        IDEMPOTENCY_WAIT_MS: '300',
      },
    });
  });
  afterAll(async () => {
    await other?.close();
    await world?.close();
  });
  afterEach(() => admin(world.sims, 'DELETE', '/d24/faults'));

  const body = (reference: string) => ({
    provider: 'd24',
    environment: 'simulator',
    amount: '12.00',
    currency: 'BRL',
    beneficiary,
    reference,
  });
  const post = (app: TestApp, key: string, reference: string) =>
    app.http.post('/v1/payouts').set(bearer(world.t.adminKey)).set('Idempotency-Key', key).send(body(reference));
  const claimed = (key: string) =>
    eventually(
      (): Promise<Array<{ payout_id: string; owner_instance: number | null }>> =>
        world.t.dataSource.query('SELECT payout_id, owner_instance FROM idempotency_keys WHERE idempotency_key = $1', [
          key,
        ]),
      (rows) => rows.length === 1,
    );
  const slowCashouts = (latencyMs: number) =>
    admin(world.sims, 'PUT', '/d24/faults', { route: 'POST /v3/cashout', settings: { latencyMs } });

  it('while the first attempt is at work, a retry gets a prompt 409 IDEMPOTENCY_KEY_IN_PROGRESS with Retry-After, then the answer', async () => {
    await slowCashouts(2_500);
    const key = randomUUID();
    let firstAnswered = false;
    const first = post(world.t, key, 'in-progress').then((response) => ((firstAnswered = true), response)); // supertest sends on then()
    await claimed(key);
    const retry = await post(other, key, 'in-progress');
    // "Prompt" means without waiting for the first attempt, whose provider call is held for 2.5 s.
    expect(firstAnswered).toBe(false);
    expect([retry.status, retry.body.error.code]).toEqual([409, 'IDEMPOTENCY_KEY_IN_PROGRESS']);
    expect(Number(retry.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(retry.headers['x-request-id']).toBeDefined();
    const answered = await first;
    expect(answered.status).toBe(201);
    const again = await post(other, key, 'in-progress');
    expect([again.status, again.body]).toEqual([201, answered.body]);
  });

  it('when the first attempt died with its process, the retry takes it over and answers within seconds, paying once', async () => {
    await slowCashouts(2_500);
    const key = randomUUID();
    const first = post(world.t, key, 'taken-over').catch(() => null);
    const [row] = await claimed(key);
    const owner = world.t.app.get(InstanceLiveness).id;
    expect(row.owner_instance).toBe(owner);
    // What SIGKILL does to the first process's connections: PostgreSQL drops its liveness lock.
    await world.t.dataSource.query(
      `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2 AND objid = $1::oid`,
      [owner],
    );
    await eventually(
      () => other.app.get(InstanceLiveness).alive([owner!]),
      (alive) => !alive.has(owner!),
    );
    const startedAt = Date.now();
    const retry = await post(other, key, 'taken-over');
    expect(retry.status).toBe(201);
    expect(retry.body.id).toBe(row.payout_id);
    expect(Date.now() - startedAt).toBeLessThan(5_000);
    await first;
    const ledger = (await admin<Array<{ externalId: string }>>(world.sims, 'GET', '/d24/ledger')).body.filter(
      (entry) => entry.externalId === row.payout_id,
    );
    expect(ledger).toHaveLength(1);
    const events = await world.t.dataSource.query(
      `SELECT count(*)::int AS n FROM payouts WHERE reference = 'taken-over'`,
    );
    expect(events[0].n).toBe(1);
  });
});
