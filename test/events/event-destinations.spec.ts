import { createHmac } from 'node:crypto';
import type { ResolvedAddress } from '../../src/events/destination-policy';
import { DestinationResolver } from '../../src/events/destination-policy';
import { OutboundEventEntity } from '../../src/events/outbound-event.entity';
import { OutboundEvents } from '../../src/events/outbound-events.service';
import { EKU, selfSigned } from '../support/pki';
import { Receiver } from '../support/receiver';
import { eventually } from '../support/sim-client';
import type { TestApp } from '../support/test-app';
import { bearer, startTestApp } from '../support/test-app';

/**
 * Where events may go, end to end: the real app and database, real HTTP receivers on 127.0.0.1.
 * NETWORK RULE: nothing here may send a packet to anything but loopback. Names resolve through
 * a fake DestinationResolver (no DNS at all), and every non-loopback destination is refused
 * before any connection is attempted.
 */

type Names = Record<string, string[]>;

/** Replaces name resolution for the whole app (subscribe and connect time) with `names`. */
function fakeDns(t: TestApp, names: Names): jest.SpyInstance {
  return jest
    .spyOn(t.app.get(DestinationResolver), 'lookup')
    .mockImplementation((name: string): Promise<ResolvedAddress[]> => {
      const addresses = names[name];
      if (!addresses)
        return Promise.reject(Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' }));
      return Promise.resolve(addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })));
    });
}

function subscribe(t: TestApp, url: string) {
  return t.http.post('/v1/event-subscriptions').set(bearer(t.adminKey)).send({ url });
}

function unsubscribe(t: TestApp, id: string) {
  return t.http.delete(`/v1/event-subscriptions/${id}`).set(bearer(t.adminKey));
}

async function enqueue(
  t: TestApp,
  data: Record<string, unknown> = { payoutId: 'p-1', to: 'completed' },
): Promise<void> {
  await t.app.get(OutboundEvents).enqueue(t.dataSource.manager, 'payout.status_changed', data);
}

function eventsOf(t: TestApp, subscriptionId: string): Promise<OutboundEventEntity[]> {
  return t.dataSource.getRepository(OutboundEventEntity).find({ where: { subscriptionId }, order: { id: 'ASC' } });
}

/** Waits until every event of the subscription has had an outcome recorded (dispatch may also run on its timer). */
function settled(
  t: TestApp,
  subscriptionId: string,
  done: (event: OutboundEventEntity) => boolean,
): Promise<OutboundEventEntity[]> {
  return eventually(
    () => eventsOf(t, subscriptionId),
    (events) => events.length > 0 && events.every(done),
    10_000,
  );
}

describe('event destinations', () => {
  describe('with nothing allowed by the operator', () => {
    let t: TestApp;
    let receiver: Receiver;
    let receiverUrl: string;
    const names: Names = {};
    let lookup: jest.SpyInstance;

    beforeAll(async () => {
      t = await startTestApp();
      lookup = fakeDns(t, names);
      receiver = new Receiver();
      receiverUrl = await receiver.start();
    });
    afterAll(async () => {
      await receiver.stop();
      await t.close();
    });

    it.each([
      ['http://127.0.0.1:9/events', 'LOOPBACK_ADDRESS'],
      ['http://[::1]:9/events', 'LOOPBACK_ADDRESS'],
      ['http://localhost:9/events', 'LOOPBACK_ADDRESS'],
      ['http://127.1:9/events', 'LOOPBACK_ADDRESS'],
      ['http://0x7f000001:9/events', 'LOOPBACK_ADDRESS'],
      ['http://[::ffff:127.0.0.1]:9/events', 'LOOPBACK_ADDRESS'],
      ['http://169.254.169.254/latest/meta-data/', 'LINK_LOCAL_ADDRESS'],
      ['http://10.0.0.1/events', 'PRIVATE_ADDRESS'],
      ['http://0.0.0.0:9/events', 'UNSPECIFIED_ADDRESS'],
      ['http://224.0.0.1/events', 'MULTICAST_ADDRESS'],
      ['http://user:hunter2@public.example/events', 'USERINFO_NOT_ALLOWED'],
      ['http://internal-only.example/events', 'PRIVATE_ADDRESS'],
      ['http://nowhere.example/events', 'HOST_NOT_RESOLVED'],
    ])('refuses %s at subscribe time (422 DESTINATION_NOT_ALLOWED, %s)', async (url, reason) => {
      names['public.example'] = ['93.184.215.14'];
      names['internal-only.example'] = ['10.9.8.7'];
      const response = await subscribe(t, url);
      expect(response.status).toBe(422);
      expect(response.body.error.code).toBe('DESTINATION_NOT_ALLOWED');
      expect(response.body.error.message).toMatch(/^Events cannot be sent to this url: .+\. .+\.$/);
      expect(response.body.error.details).toEqual([{ field: 'url', code: reason, message: expect.any(String) }]);
      expect(JSON.stringify(response.body)).not.toContain('hunter2');
      const listed = await t.http.get('/v1/event-subscriptions').set(bearer(t.adminKey));
      expect(listed.body).toEqual([]);
    });

    it('says what to fix for a private address', async () => {
      const response = await subscribe(t, 'http://10.0.0.1/events');
      expect(response.body.error.message).toBe(
        'Events cannot be sent to this url: 10.0.0.1 is a private address. Private addresses are reached only when the operator allows them: list the range (e.g. 10.0.0.0/8) or the host name in EVENTS_ALLOWED_DESTINATIONS.',
      );
    });

    it('keeps the DTO shape check (400) for what is not an http(s) URL at all', async () => {
      const response = await subscribe(t, 'ftp://public.example/events');
      expect(response.status).toBe(400);
      expect(response.body.error.code).toBe('VALIDATION_FAILED');
    });

    it('refuses at connect time a name that resolved to a public address when subscribed and to 127.0.0.1 now: the receiver gets nothing', async () => {
      const port = new URL(receiverUrl).port;
      names['rebind.example'] = ['93.184.215.14'];
      const created = await subscribe(t, `http://rebind.example:${port}/events`);
      expect(created.status).toBe(201);
      // Rebound before any event exists for it, so the public address is never connected to.
      names['rebind.example'] = ['127.0.0.1'];
      lookup.mockClear();
      try {
        await enqueue(t);
        await t.app.get(OutboundEvents).dispatch();
        const [event] = await settled(t, created.body.id, (e) => e.attempts >= 1);
        expect(event.deliveredAt).toBeNull();
        expect(event.lastError).toBe('destination not allowed: rebind.example resolves to a loopback address');
        expect(lookup).toHaveBeenCalledWith('rebind.example'); // the connection's own lookup asked
        expect(receiver.received).toEqual([]);
        expect(t.logs.text).toContain('event destination refused at delivery');
        expect(t.logs.text).not.toContain('rebind.example:'); // the URL is not logged
      } finally {
        expect((await unsubscribe(t, created.body.id)).status).toBe(204);
      }
    });

    it('refuses before connecting an address URL stored without the subscribe check (Node skips lookup for addresses)', async () => {
      names['legacy.example'] = ['93.184.215.14'];
      const created = await subscribe(t, 'http://legacy.example/events');
      expect(created.status).toBe(201);
      // As if the row predates the policy: the loopback receiver's own address.
      await t.dataSource.query('UPDATE event_subscriptions SET url = $1 WHERE id = $2', [
        `${receiverUrl}/events`,
        created.body.id,
      ]);
      try {
        await enqueue(t);
        await t.app.get(OutboundEvents).dispatch();
        const [event] = await settled(t, created.body.id, (e) => e.attempts >= 1);
        expect(event.deliveredAt).toBeNull();
        expect(event.lastError).toBe('destination not allowed: 127.0.0.1 is a loopback address');
        expect(receiver.received).toEqual([]);
      } finally {
        expect((await unsubscribe(t, created.body.id)).status).toBe(204);
      }
    });
  });

  describe('with loopback allowed (EVENTS_ALLOWED_DESTINATIONS=127.0.0.0/8)', () => {
    let t: TestApp;
    const names: Names = {};
    let lookup: jest.SpyInstance;
    const receivers: Receiver[] = [];

    async function startReceiver(): Promise<{ receiver: Receiver; url: string }> {
      const receiver = new Receiver();
      receivers.push(receiver);
      return { receiver, url: await receiver.start() };
    }

    beforeAll(async () => {
      t = await startTestApp({ env: { EVENTS_ALLOWED_DESTINATIONS: '127.0.0.0/8' } });
      lookup = fakeDns(t, names);
    });
    afterAll(async () => {
      await Promise.all(receivers.map((r) => r.stop()));
      await t.close();
    });

    it('delivers, signed, to a made-up name that the injected resolver maps to 127.0.0.1 (the connection uses that resolver)', async () => {
      const { receiver, url } = await startReceiver();
      names['receiver.example'] = ['127.0.0.1'];
      const created = await subscribe(t, `http://receiver.example:${new URL(url).port}/events?team=ledger`);
      expect(created.status).toBe(201);
      lookup.mockClear();
      try {
        await enqueue(t, { payoutId: 'p-named' });
        await t.app.get(OutboundEvents).dispatch();
        const [event] = await settled(t, created.body.id, (e) => e.deliveredAt !== null);
        expect(event.lastError).toBeNull();
        expect(lookup).toHaveBeenCalledWith('receiver.example');
        expect(receiver.received).toHaveLength(1);
        const [delivery] = receiver.received;
        expect(delivery.path).toBe('/events?team=ledger');
        expect(delivery.headers.host).toBe(`receiver.example:${new URL(url).port}`);
        const [, timestamp, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(delivery.headers['x-payments-signature']))!;
        expect(v1).toBe(
          createHmac('sha256', created.body.secret).update(`${timestamp}.${delivery.body}`).digest('hex'),
        );
      } finally {
        expect((await unsubscribe(t, created.body.id)).status).toBe(204);
      }
    });

    it('does not follow a 307: the second receiver gets nothing, the event is not delivered and says why', async () => {
      const second = await startReceiver();
      const first = await startReceiver();
      first.receiver.otherwise = { status: 307, body: 'moved', headers: { Location: `${second.url}/stolen` } };
      const created = await subscribe(t, `${first.url}/events`);
      expect(created.status).toBe(201);
      try {
        await enqueue(t, { payoutId: 'p-redirect' });
        await t.app.get(OutboundEvents).dispatch();
        const [event] = await settled(t, created.body.id, (e) => e.attempts >= 1);
        expect(event.deliveredAt).toBeNull();
        expect(event.lastError).toBe('HTTP 307 (redirects are not followed)');
        expect(first.receiver.received).toHaveLength(1);
        expect(first.receiver.received[0].headers['x-payments-signature']).toBeDefined();
        expect(second.receiver.received).toEqual([]);
      } finally {
        expect((await unsubscribe(t, created.body.id)).status).toBe(204);
      }
    });

    it('keeps TLS verification on: a receiver with a certificate nobody trusts gets nothing', async () => {
      const server = await selfSigned({
        subject: 'CN=127.0.0.1',
        extendedKeyUsages: [EKU.serverAuth],
        altNames: ['127.0.0.1'],
      });
      const receiver = new Receiver();
      receivers.push(receiver);
      const url = await receiver.start({ key: server.privateKeyPem, cert: server.pem });
      const created = await subscribe(t, `${url}/events`);
      expect(created.status).toBe(201);
      try {
        await enqueue(t, { payoutId: 'p-tls' });
        await t.app.get(OutboundEvents).dispatch();
        const [event] = await settled(t, created.body.id, (e) => e.attempts >= 1);
        expect(event.deliveredAt).toBeNull();
        expect(event.lastError).toMatch(/self.signed certificate/i);
        expect(receiver.received).toEqual([]);
      } finally {
        expect((await unsubscribe(t, created.body.id)).status).toBe(204);
      }
    });

    it("stops a disabled subscription's queued events at once, keeping them as history", async () => {
      const { receiver, url } = await startReceiver();
      receiver.otherwise = { status: 503, body: 'busy' };
      const created = await subscribe(t, `${url}/events`);
      expect(created.status).toBe(201);
      await enqueue(t, { payoutId: 'p-a' });
      await enqueue(t, { payoutId: 'p-b' });
      await t.app.get(OutboundEvents).dispatch();
      await settled(t, created.body.id, (e) => e.attempts >= 1 && e.lastError === 'HTTP 503');
      // Park them so the dispatcher's timer cannot retry them while the test takes its snapshot.
      await t.dataSource.query(
        `UPDATE outbound_events SET next_attempt_at = now() + interval '1 hour' WHERE subscription_id = $1`,
        [created.body.id],
      );
      const before = receiver.received.length;
      expect(before).toBeGreaterThanOrEqual(2);

      expect((await unsubscribe(t, created.body.id)).status).toBe(204);
      // Due again right now: only the subscription being disabled can keep them from going out.
      await t.dataSource.query('UPDATE outbound_events SET next_attempt_at = now() WHERE subscription_id = $1', [
        created.body.id,
      ]);
      expect(await t.app.get(OutboundEvents).dispatch()).toBe(0);
      await new Promise((resolve) => setTimeout(resolve, 1_500)); // longer than the dispatcher's own interval
      expect(receiver.received).toHaveLength(before);
      const events = await eventsOf(t, created.body.id);
      expect(events).toHaveLength(2);
      for (const event of events) {
        expect(event.deliveredAt).toBeNull();
        expect(event.lastError).toBe('subscription disabled');
      }
    });

    it('skips an event whose subscription is disabled after the event was claimed but before it is sent', async () => {
      const { receiver, url } = await startReceiver();
      const created = await subscribe(t, `${url}/events`);
      expect(created.status).toBe(201);
      const service = t.app.get<OutboundEvents, { deliver(id: string): Promise<void> }>(OutboundEvents); // deliver is private
      const deliver = service.deliver.bind(service);
      // The first claimed delivery (by this test's dispatch or the timer's) meets a DELETE in between.
      let finished: Promise<void> | undefined;
      const spy = jest.spyOn(service, 'deliver').mockImplementationOnce((id: string) => {
        finished = (async () => {
          expect((await unsubscribe(t, created.body.id)).status).toBe(204);
          await deliver(id);
        })();
        return finished;
      });
      try {
        await enqueue(t, { payoutId: 'p-race' });
        await t.app.get(OutboundEvents).dispatch();
        await eventually(
          () => spy.mock.calls.length,
          (calls) => calls > 0,
        );
        await finished; // the DELETE and the delivery after it
        const [event] = await settled(t, created.body.id, (e) => e.lastError === 'subscription disabled');
        expect(event.attempts).toBe(0);
        expect(event.deliveredAt).toBeNull();
        expect(receiver.received).toEqual([]);
      } finally {
        spy.mockRestore();
      }
    });
  });
});
