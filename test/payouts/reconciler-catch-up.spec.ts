import { Metrics } from '../../src/observability/metrics';
import { randomUUID } from 'node:crypto';
import { Environment, loadEnvironment } from '../../src/config/environment';
import { IdempotencyKeysRepository } from '../../src/payouts/persistence/idempotency-keys.repository';
import { PayoutsRepository } from '../../src/payouts/persistence/payouts.repository';
import { PayoutReconciler } from '../../src/payouts/payout-reconciler';
import { PayoutApprovals } from '../../src/payouts/payout-approvals';
import { PayoutsService } from '../../src/payouts/payouts.service';
import type { ProviderWorld } from '../support/provider-world';
import { startProviderWorld } from '../support/provider-world';
import { admin, eventually } from '../support/sim-client';
import { bearer } from '../support/test-app';

/**
 * A backlog of checks after an outage: drained in rounds of at most the provider's concurrency,
 * with two reconcilers (as two replicas would) sharing it and each payout checked once.
 */
describe('reconciler catch-up', () => {
  let world: ProviderWorld;

  beforeAll(async () => {
    // The app's own reconciler stays out of the way (one pass a minute); the test runs its two.
    world = await startProviderWorld({ RECONCILE_INTERVAL_MS: '60000' }, 23);
  });
  afterAll(() => world.close());

  it('drains a backlog in rounds of at most the provider concurrency, two replicas checking each payout once', async () => {
    const created: string[] = [];
    for (let i = 0; i < 30; i++) {
      const response = await world.t.http
        .post('/v1/payouts')
        .set(bearer(world.t.adminKey))
        .set('Idempotency-Key', randomUUID())
        .send({
          provider: 'd24',
          environment: 'simulator',
          amount: '10.00',
          currency: 'BRL',
          beneficiary: {
            type: 'latam_bank_account',
            country: 'BR',
            name: 'Backlog',
            documentId: '84932568207',
            documentType: 'CPF',
            bankCode: 1,
            bankAccount: '123456789',
            bankBranch: '0001',
            accountType: 'C',
          },
        });
      expect(response.status).toBe(201);
      created.push(response.body.id as string);
    }
    const pendingIds = created;
    // An outage's worth of overdue checks: each payout back to pending, its check long due.
    await eventually(
      async () =>
        (
          await world.t.dataSource.query(
            `SELECT count(*)::int AS n FROM payouts WHERE id = ANY($1) AND status = 'completed'`,
            [pendingIds],
          )
        )[0].n as number,
      (n) => n === pendingIds.length,
      15_000,
    );
    await world.t.dataSource.query(
      `UPDATE payouts SET status = 'pending', next_check_at = now() - interval '1 minute', check_attempts = 0 WHERE id = ANY($1)`,
      [pendingIds],
    );
    const environment = world.t.app.get(Environment);
    environment.RECONCILE_CONCURRENCY_BY_PROVIDER = 'd24=4';
    const rows = world.t.app.get(PayoutsRepository);
    const rounds: number[] = [];
    const claimedIds: string[] = [];
    const claim = rows.claimDueChecks.bind(rows);
    jest.spyOn(rows, 'claimDueChecks').mockImplementation(async (leaseMs, limits) => {
      const claimed = await claim(leaseMs, limits);
      rounds.push(claimed.filter((row) => row.provider === 'd24').length);
      claimedIds.push(...claimed.map((row) => row.id));
      return claimed;
    });
    const replica = () =>
      new PayoutReconciler(
        rows,
        world.t.app.get(IdempotencyKeysRepository),
        world.t.app.get(PayoutsService),
        environment,
        world.t.app.get(PayoutApprovals),
        world.t.app.get(Metrics),
      );
    const d24Requests = async () =>
      (await admin<Record<string, { requests: number }>>(world.sims, 'GET', '/counters')).body.d24.requests;
    const before = await d24Requests();

    const [first, second] = await Promise.all([replica().runOnce(), replica().runOnce()]);

    expect(first + second).toBe(pendingIds.length);
    expect(Math.max(...rounds)).toBeLessThanOrEqual(4);
    expect(new Set(claimedIds).size).toBe(claimedIds.length); // nobody claimed a payout twice
    expect([...claimedIds].sort()).toEqual([...pendingIds].sort());
    expect((await d24Requests()) - before).toBe(pendingIds.length); // one status fetch each
    const statuses = await world.t.dataSource.query(`SELECT status, next_check_at FROM payouts WHERE id = ANY($1)`, [
      pendingIds,
    ]);
    expect(statuses.every((row: { status: string; next_check_at: Date | null }) => row.status === 'completed')).toBe(
      true,
    );
    expect(statuses.every((row: { next_check_at: Date | null }) => row.next_check_at === null)).toBe(true);
  });

  it('refuses a concurrency for an unknown provider at boot', () => {
    expect(() => loadEnvironment({ RECONCILE_CONCURRENCY_BY_PROVIDER: 'paypal=3' })).toThrow(
      /RECONCILE_CONCURRENCY_BY_PROVIDER: "paypal=3" must be provider=n/,
    );
  });
});
