import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { OutboundEvents } from '../../src/events/outbound-events.service';
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
});
