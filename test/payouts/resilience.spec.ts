import { randomUUID } from 'node:crypto';
import { Environment } from '../../src/config/environment';
import { startTestApp } from '../support/test-app';
import { admin } from '../support/sim-client';
import { checkD24Ledger, pool, settle } from '../support/ledger-check';
import type { ProviderWorld } from '../support/provider-world';
import { startProviderWorld } from '../support/provider-world';
import { bearer } from '../support/test-app';

const beneficiary = {
  type: 'latam_bank_account',
  country: 'BR',
  name: 'Ana',
  documentId: '84932568207',
  bankCode: 1,
  bankAccount: '55555',
  bankBranch: '0001',
  accountType: 'C',
};

describe('never pays twice, never loses a payout', () => {
  let world: ProviderWorld;

  beforeAll(async () => {
    world = await startProviderWorld({ PROVIDER_CIRCUIT_FAILURES: '1000' }, 21);
  });
  afterAll(() => world.close());

  const create = (baseUrl: string, key: string, reference: string, apiKey: string) =>
    fetch(`${baseUrl}/v1/payouts`, {
      method: 'POST',
      headers: { ...bearer(apiKey), 'Idempotency-Key': key, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        provider: 'd24',
        environment: 'simulator',
        amount: '10.00',
        currency: 'BRL',
        beneficiary,
        reference,
      }),
    });

  it('with 20% simulator faults (500, reset, timeout, dropped response) over 300 payouts, the ledger matches', async () => {
    await admin(world.sims, 'PUT', '/d24/faults', {
      route: 'POST /v3/cashout',
      settings: { errorRate: 0.05, resetRate: 0.05, timeoutRate: 0.05, dropResponseRate: 0.05, hangMs: 1_500 },
    });
    try {
      const results = await pool(
        300,
        20,
        async (i) => (await create(world.baseUrl, randomUUID(), `faults-${i}`, world.t.adminKey)).status,
      );
      expect(
        results
          .filter((r) => !(r.status === 'fulfilled' && r.value === 201))
          .map((r) => (r.status === 'fulfilled' ? r.value : String(r.reason))),
      ).toEqual([]);
    } finally {
      await admin(world.sims, 'DELETE', '/d24/faults');
    }
    await settle(world.t.dataSource, 'faults-');
    const summary = await checkD24Ledger(world.t.dataSource, world.sims, 'faults-');
    expect(summary.payouts).toBe(300);
    expect(summary.accepted + summary.failed).toBe(300);
    expect(summary.accepted).toBeGreaterThan(250);
  }, 120_000);

  it('two app instances on one database: 200 concurrent requests with one key make one payout', async () => {
    const second = await startTestApp({
      database: world.t.database,
      env: {
        ADMIN_API_KEY: world.t.adminKey,
        D24_SIMULATOR_URL: world.sims.urls.d24,
        PROVIDER_CA_FILE: world.t.app.get(Environment).PROVIDER_CA_FILE,
      },
    });
    try {
      await second.app.listen(0, '127.0.0.1');
      const secondUrl = `http://127.0.0.1:${(second.app.getHttpServer().address() as { port: number }).port}`;
      const key = randomUUID();
      const responses = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          create(i % 2 ? secondUrl : world.baseUrl, key, 'two-instances', world.t.adminKey).then(async (r) => ({
            status: r.status,
            id: ((await r.json()) as { id: string }).id,
          })),
        ),
      );
      expect(new Set(responses.map((r) => r.status))).toEqual(new Set([201]));
      expect(new Set(responses.map((r) => r.id)).size).toBe(1);
      const ledger = (await admin<Array<{ externalId: string }>>(world.sims, 'GET', '/d24/ledger')).body.filter(
        (e) => e.externalId === responses[0].id,
      );
      expect(ledger).toHaveLength(1);
      expect(
        (await world.t.dataSource.query(`SELECT count(*)::int AS n FROM payouts WHERE reference = 'two-instances'`))[0]
          .n,
      ).toBe(1);
    } finally {
      await second.close();
    }
  }, 60_000);
});
