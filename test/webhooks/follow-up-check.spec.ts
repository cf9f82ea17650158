import { admin, eventually } from '../support/sim-client';
import type { ProviderWorld } from '../support/provider-world';
import { createD24Payout, startProviderWorld } from '../support/provider-world';
import { bearer } from '../support/test-app';

/**
 * The follow-up check a throttled notification schedules runs when the throttle's interval ends,
 * not at the reconciler's next periodic pass: here the periodic passes are ten minutes apart, so
 * a D24 payout whose second notification (COMPLETED) came inside the fetch interval completes
 * only through that wake-up. D24 delivers after 50 ms and completes 3 s later, well apart from
 * the first fetch however busy the machine, and well inside the 8 s interval.
 */
const INTERVAL_MS = 8_000;
describe('a throttled notification’s follow-up check', () => {
  let world: ProviderWorld;

  beforeAll(async () => {
    world = await startProviderWorld(
      { RECONCILE_INTERVAL_MS: '600000', WEBHOOK_FETCH_INTERVAL_MS: String(INTERVAL_MS) },
      47,
    );
    const timeline = await admin(world.sims, 'PATCH', '/d24/settings', {
      timeline: { deliverAfterMs: 50, completeAfterMs: 3_000 },
    });
    expect(timeline.status).toBe(200);
  });
  afterAll(() => world.close());

  it('runs when the fetch interval ends', async () => {
    const created = await createD24Payout(world);
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const done = await eventually(
      async () => (await world.t.http.get(`/v1/payouts/${id}`).set(bearer(world.t.adminKey))).body,
      (payout: { status: string }) => payout.status === 'completed',
      INTERVAL_MS + 5_000,
    );
    expect(done.status).toBe('completed');
    // One fetch after the first notification (DELIVERED), then the follow-up check's: the
    // completion was fetched by the reconciler, at least one interval after the first fetch.
    const history = (await world.t.http.get(`/v1/payouts/${id}/events`).set(bearer(world.t.adminKey))).body as Array<{
      toStatus: string;
      detail: { source?: string };
      occurredAt: string;
    }>;
    const fetched = history.find((entry) => entry.detail.source === 'webhook:d24');
    const completed = history.find((entry) => entry.toStatus === 'completed');
    expect(completed?.detail.source).toBe('reconcile');
    const after = Date.parse(completed!.occurredAt) - Date.parse(fetched!.occurredAt);
    // The throttle holds (measured from the fetch's commit, a little after its slot was taken),
    // and the follow-up is not left to the next periodic pass, ten minutes away.
    expect(after).toBeGreaterThanOrEqual(INTERVAL_MS - 500);
    expect(after).toBeLessThan(INTERVAL_MS + 4_000);
  });
});
