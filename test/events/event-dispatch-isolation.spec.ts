import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { OutboundEvents } from '../../src/events/outbound-events.service';
import { OutboundEventsRepository } from '../../src/events/persistence/outbound-events.repository';
import { Receiver } from '../support/receiver';
import { eventually } from '../support/sim-client';
import type { TestApp } from '../support/test-app';
import { bearer, startTestApp } from '../support/test-app';

/**
 * A receiver that accepts connections and never answers (a hung service, or a firewall that
 * drops its replies) holds its own deliveries until their deadline (10 s), and only a few of
 * them: the other subscriptions' events keep going out meanwhile.
 */
describe('event dispatch: one hung receiver holds up only its own deliveries', () => {
  let t: TestApp;
  const healthy = new Receiver();
  let hung: Server;
  /** Requests the hung receiver got (connections that sent something), none ever answered. */
  const hungRequests: Socket[] = [];
  const admin = () => bearer(t.adminKey);

  beforeAll(async () => {
    hung = createServer((socket) => socket.once('data', () => hungRequests.push(socket)));
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    t = await startTestApp({ env: { EVENTS_ALLOWED_DESTINATIONS: '127.0.0.0/8' } });
  });
  afterAll(async () => {
    // Ends the hung deliveries now (a reset, recorded as failed attempts) instead of at their deadline.
    for (const socket of hungRequests) socket.destroy();
    await t.close();
    await healthy.stop();
    await new Promise((resolve) => hung.close(resolve));
  });

  it('delivers to the healthy receiver while the hung one holds at most four requests', async () => {
    const healthyUrl = await healthy.start();
    const hungUrl = `http://127.0.0.1:${(hung.address() as AddressInfo).port}/events`;
    for (const url of [`${healthyUrl}/events`, hungUrl]) {
      const subscribed = await t.http
        .post('/v1/event-subscriptions')
        .set(admin())
        .send({ url, events: ['payout.status_changed'] });
      expect(subscribed.status).toBe(201);
    }
    const events = t.app.get(OutboundEvents);
    const emit = (count: number, from: number) =>
      t.dataSource.transaction(async (manager) => {
        for (let index = from; index < from + count; index++)
          await events.enqueue(manager, 'payout.status_changed', { payoutId: `p-${index}`, to: 'completed' });
      });

    // The first events: the hung receiver's are sent and hang.
    await emit(10, 0);
    await eventually(
      () => healthy.received.length,
      (received) => received === 10,
    );
    await eventually(
      () => hungRequests.length,
      (requests) => requests > 0,
    );
    // More events while those hang: the healthy receiver gets them all within the 5 s of
    // `eventually`, half the hung requests' 10 s deadline (before, the dispatcher waited for the
    // slowest delivery of its round before it claimed anything else).
    await emit(30, 10);
    await eventually(
      () => healthy.received.length,
      (received) => received === 40,
    );
    expect(hungRequests.length).toBeLessThanOrEqual(4);
    const answered = await t.http.get('/v1/event-subscriptions').set(admin());
    expect(answered.status).toBe(200);
  });

  it('a late failure is not recorded over what a replica that claimed the event after the lease lapsed recorded; a late success always is', async () => {
    // Never sent to (its events are not due while this test runs): any URL the policy allows. Its
    // own event type, so the first test's (hung) subscriptions get nothing from this one.
    const subscribed = await t.http
      .post('/v1/event-subscriptions')
      .set(admin())
      .send({ url: 'http://127.0.0.1:9/late', events: ['payout.created'] });
    expect(subscribed.status).toBe(201);
    const newEvent = async (payoutId: string): Promise<string> => {
      // Not due for an hour: the dispatcher leaves it to this test.
      await t.dataSource.transaction(async (manager) => {
        await t.app.get(OutboundEvents).enqueue(manager, 'payout.created', { payoutId });
        await manager.query(
          `UPDATE outbound_events SET next_attempt_at = now() + interval '1 hour' WHERE subscription_id = $1`,
          [subscribed.body.id],
        );
      });
      const [{ id }] = await t.dataSource.query(
        `SELECT id FROM outbound_events WHERE subscription_id = $1 AND payload->'data'->>'payoutId' = $2`,
        [subscribed.body.id, payoutId],
      );
      return String(id);
    };
    const rowOf = async (id: string) =>
      (
        await t.dataSource.query(
          `SELECT attempts, delivered_at IS NOT NULL AS delivered, last_error, last_response_status FROM outbound_events WHERE id = $1`,
          [id],
        )
      )[0];
    const repository = t.app.get(OutboundEventsRepository);
    const success = { delivered: true as const, attempts: 1, responseStatus: 200, latencyMs: 4 };
    const timedOut = {
      delivered: false as const,
      attempts: 1,
      responseStatus: null,
      latencyMs: 10_000,
      error: 'no response within 10 s',
      nextAttemptAt: new Date(Date.now() + 2_000),
    };

    // Both attempts saw attempts = 0. The replica that took over delivered first: the first one's
    // late failure (its receiver timed out) is not written over it.
    const first = await newEvent('p-late-failure');
    expect(await repository.recordAttempt(first, success)).toBe(true);
    expect(await repository.recordAttempt(first, timedOut)).toBe(false);
    expect(await rowOf(first)).toEqual({ attempts: 1, delivered: true, last_error: null, last_response_status: 200 });

    // The other way round: the receiver got the late attempt, so it is recorded as delivered.
    const second = await newEvent('p-late-success');
    expect(await repository.recordAttempt(second, timedOut)).toBe(true);
    expect(await repository.recordAttempt(second, success)).toBe(true);
    expect(await rowOf(second)).toEqual({ attempts: 1, delivered: true, last_error: null, last_response_status: 200 });
    // And once delivered, nothing is recorded over it.
    expect(await repository.recordAttempt(second, { ...success, attempts: 2 })).toBe(false);
  });
});
