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
import { brazilianAccount } from '../support/beneficiaries';

/**
 * A backlog of checks after an outage: drained in rounds of at most the provider's concurrency,
 * with two reconcilers (as two replicas would) sharing it and each payout checked once.
 */
describe('reconciler catch-up', () => {
  let world: ProviderWorld;

  beforeAll(async () => {
    world = await startProviderWorld({ RECONCILE_INTERVAL_MS: '60000' }, 23);
    // The app's own reconciler is stopped, not only slowed: a deferred notification wakes it at any
    // moment (checkDueAt), and a pass of its own between a test's UPDATE and its reconcilers' passes
    // would take checks they count. The tests build the reconcilers they run.
    await world.t.app.get(PayoutReconciler).onModuleDestroy();
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
    const replica = () =>
      new PayoutReconciler(
        world.t.app.get(PayoutsRepository),
        world.t.app.get(IdempotencyKeysRepository),
        world.t.app.get(PayoutsService),
        world.t.app.get(Environment),
        world.t.app.get(PayoutApprovals),
        world.t.app.get(Metrics),
      );
    // Every payout completed first (its notifications have come). A notification deferred by the
    // fetch interval leaves its payout to a follow-up check, which the app's stopped reconciler
    // does not make: a replica makes the checks that fall due meanwhile (before any is counted).
    const settling = replica();
    await eventually(
      async () => {
        await settling.runOnce();
        return (
          await world.t.dataSource.query(
            `SELECT count(*)::int AS n FROM payouts WHERE id = ANY($1) AND status = 'completed'`,
            [pendingIds],
          )
        )[0].n as number;
      },
      (n) => n === pendingIds.length,
      15_000,
    );
    // An outage's worth of overdue checks: each payout back to pending, its check long due.
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

  it('backs off while a provider reports nothing new, and writes nothing to the payout for such a report', async () => {
    // Held at D24 (holdOnCreate): it stays on_hold there until released, so every check learns nothing.
    const created = await world.t.http
      .post('/v1/payouts')
      .set(bearer(world.t.adminKey))
      .set('Idempotency-Key', randomUUID())
      .send({
        provider: 'd24',
        environment: 'simulator',
        amount: '12.00',
        currency: 'BRL',
        holdOnCreate: true,
        beneficiary: brazilianAccount(),
      });
    expect(created.body.status).toBe('on_hold');
    const id = created.body.id as string;
    const environment = world.t.app.get(Environment);
    const interval = environment.RECONCILE_INTERVAL_MS;
    // The replica's back-off in whole seconds: a claim counts an attempt, so a check that learns
    // nothing looks again in 2, 4, 8, 16 s (the app's own reconciler, started with a minute, is
    // not re-timed by this).
    environment.RECONCILE_INTERVAL_MS = 1_000;
    const replica = new PayoutReconciler(
      world.t.app.get(PayoutsRepository),
      world.t.app.get(IdempotencyKeysRepository),
      world.t.app.get(PayoutsService),
      environment,
      world.t.app.get(PayoutApprovals),
      world.t.app.get(Metrics),
    );
    const row = async () =>
      (
        await world.t.dataSource.query(
          `SELECT updated_at::text AS updated, check_attempts AS attempts, next_check_at AS "nextCheckAt",
                  (SELECT count(*)::int FROM payout_events e WHERE e.payout_id = p.id) AS events
             FROM payouts p WHERE id = $1`,
          [id],
        )
      )[0] as { updated: string; attempts: number; nextCheckAt: Date; events: number };
    /**
     * One check by the replica, made due now; answers the row after it and the whole seconds from
     * just before the check to the next one it scheduled (the check's own time, well under a
     * second, is rounded away however busy the machine).
     */
    const checkNow = async () => {
      await world.t.dataSource.query(`UPDATE payouts SET next_check_at = now() WHERE id = $1`, [id]);
      const startedAt = Date.now();
      expect(await replica.runOnce()).toBeGreaterThanOrEqual(1);
      const after = await row();
      return { after, gapSeconds: Math.floor((after.nextCheckAt.getTime() - startedAt) / 1_000) };
    };
    const d24Requests = async () =>
      (await admin<Record<string, { requests: number }>>(world.sims, 'GET', '/counters')).body.d24.requests;
    try {
      const before = await row();
      const requestsBefore = await d24Requests();
      const gaps: number[] = [];
      for (let check = 0; check < 4; check++) {
        const { after, gapSeconds } = await checkNow();
        gaps.push(gapSeconds);
        // Nothing new: the payout's own columns and history are as they were.
        expect([after.updated, after.events]).toEqual([before.updated, before.events]);
      }
      expect((await d24Requests()) - requestsBefore).toBe(4); // asked each time
      expect(gaps).toEqual([2, 4, 8, 16]);
      expect((await row()).attempts).toBe(before.attempts + 4);

      // The provider's answer now differs from what we stored (as when its own status moved
      // while ours stayed): the check writes it, and the back-off starts again from one interval.
      await world.t.dataSource.query(`UPDATE payouts SET provider_status = 'SOMETHING_OLDER' WHERE id = $1`, [id]);
      const moved = await checkNow();
      expect(moved.gapSeconds).toBe(1);
      expect(moved.after.attempts).toBe(0);
      expect(moved.after.updated).not.toBe(before.updated);
    } finally {
      environment.RECONCILE_INTERVAL_MS = interval;
    }
  });

  it('refuses a concurrency for an unknown provider at boot', () => {
    expect(() => loadEnvironment({ RECONCILE_CONCURRENCY_BY_PROVIDER: 'paypal=3' })).toThrow(
      /RECONCILE_CONCURRENCY_BY_PROVIDER: "paypal=3" must be provider=n/,
    );
  });
});
