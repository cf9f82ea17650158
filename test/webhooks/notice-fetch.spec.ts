import { OPEN, statusesThatMayChange } from '../../src/payouts/domain/payout';
import { PayoutsRepository } from '../../src/payouts/persistence/payouts.repository';
import { PayoutsService, RECONCILER_POLL } from '../../src/payouts/payouts.service';
import { WebhookDeliveriesRepository } from '../../src/webhooks/persistence/webhook-deliveries.repository';
import { admin } from '../support/sim-client';
import type { ProviderWorld } from '../support/provider-world';
import { createD24Payout, startProviderWorld } from '../support/provider-world';

/**
 * A notification inside the fetch interval ('deferred') makes sure a check follows it within an
 * interval. When one is already due that soon (the fetch after a change schedules one), the payout
 * row is left as it is: every write of it re-indexes the row in all of its indexes.
 */
// Long enough that the first test's fetch slot is still taken when the last test runs.
const INTERVAL_MS = 60_000;
describe('a deferred notification and the payout’s next check', () => {
  let world: ProviderWorld;
  let deliveries: WebhookDeliveriesRepository;
  let payoutId: string;

  beforeAll(async () => {
    world = await startProviderWorld({ RECONCILE_INTERVAL_MS: '600000' }, 53);
    // D24 keeps the payout pending and sends nothing while the test runs.
    const timeline = await admin(world.sims, 'PATCH', '/d24/settings', {
      timeline: { deliverAfterMs: 3_600_000, completeAfterMs: 3_600_000 },
    });
    expect(timeline.status).toBe(200);
    deliveries = world.t.app.get(WebhookDeliveriesRepository);
    const created = await createD24Payout(world);
    expect(created.status).toBe(201);
    payoutId = created.body.id as string;
  });
  afterAll(() => world.close());

  const notice = () =>
    deliveries.recordAndClaimFetch(
      {
        provider: 'd24',
        environments: ['simulator'],
        payoutId,
        providerReference: undefined,
        openStatuses: statusesThatMayChange('d24'),
      },
      { deliveryId: undefined, outcome: 'applied' },
      { intervalMs: INTERVAL_MS },
    );
  const row = async () => {
    const [found] = await world.t.dataSource.query<
      Array<{ version: string; next_check_ms: number | null; fetch_ms: number }>
    >(
      `SELECT xmin::text AS version,
              (extract(epoch FROM next_check_at) * 1000)::float8 AS next_check_ms,
              (extract(epoch FROM webhook_fetch_at) * 1000)::float8 AS fetch_ms
         FROM payouts WHERE id = $1`,
      [payoutId],
    );
    return found;
  };
  const setNextCheck = (sql: string) =>
    world.t.dataSource.query(`UPDATE payouts SET next_check_at = ${sql} WHERE id = $1`, [payoutId]);

  it('claims the fetch slot first, then defers', async () => {
    expect((await notice()).outcome).toBe('claimed');
    expect((await notice()).outcome).toBe('deferred');
  });

  it('writes nothing when a check is already due within the interval', async () => {
    await setNextCheck(`now() + interval '2 seconds'`);
    const before = await row();
    expect((await notice()).outcome).toBe('deferred');
    expect(await row()).toEqual(before);
  });

  it('brings a later check forward to the end of the interval', async () => {
    await setNextCheck(`now() + interval '1 hour'`);
    expect((await notice()).outcome).toBe('deferred');
    const after = await row();
    expect(after.next_check_ms).toBeCloseTo(after.fetch_ms + INTERVAL_MS, 0);
  });

  it('schedules a check when none is due', async () => {
    await setNextCheck('NULL');
    expect((await notice()).outcome).toBe('deferred');
    const after = await row();
    expect(after.next_check_ms).toBeCloseTo(after.fetch_ms + INTERVAL_MS, 0);
  });
  describe('while a reconciler check holds the payout', () => {
    // Longer than the interval, so a deferred notification brings the next check forward; shorter
    // than the back-off, so keeping the earlier of the two is told apart from backing off.
    const LEASE_MS = 120_000;
    const BACK_OFF_MS = 600_000;
    const claimDue = async () => {
      // The fetch slot taken just now: a notification during the check is deferred.
      await world.t.dataSource.query(
        `UPDATE payouts SET next_check_at = now() - interval '1 second', webhook_fetch_at = now() WHERE id = $1`,
        [payoutId],
      );
      const [claim] = await world.t.app
        .get(PayoutsRepository)
        .claimDueChecks(LEASE_MS, [{ provider: 'd24', limit: 1 }]);
      expect(claim.id).toBe(payoutId);
      return claim;
    };
    // What the check's provider call found: the payout still pending at D24.
    const checkFindsItPending = async () => {
      const payouts = world.t.app.get(PayoutsService);
      const seen = await payouts.get(payoutId);
      expect(seen.status).toBe('pending');
      await payouts.applyProviderResult(seen, { state: 'pending', providerStatus: 'PENDING' }, RECONCILER_POLL);
    };
    const endCheck = (lease: string, at: number) =>
      world.t.app.get(PayoutsRepository).scheduleNextCheck(payoutId, OPEN, new Date(at), lease);

    it('keeps the follow-up a deferred notification asked for, instead of backing off past it', async () => {
      const claim = await claimDue();
      expect((await notice()).outcome).toBe('deferred');
      await checkFindsItPending();
      const backOff = Date.now() + BACK_OFF_MS;
      await endCheck(claim.lease, backOff);
      const after = await row();
      expect(after.next_check_ms).toBeCloseTo(after.fetch_ms + INTERVAL_MS, 0);
    });

    it('backs off when nobody else moved the next check (the check’s own commit leaves the lease)', async () => {
      const claim = await claimDue();
      await checkFindsItPending();
      const backOff = Date.now() + BACK_OFF_MS;
      await endCheck(claim.lease, backOff);
      expect((await row()).next_check_ms).toBeCloseTo(backOff, 0);
    });
  });
});
