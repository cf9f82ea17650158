import { randomUUID } from 'node:crypto';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { OutboundEvents } from '../../src/events/outbound-events.service';
import { Receiver, type Received } from '../support/receiver';
import { eventually } from '../support/sim-client';
import type { TestApp } from '../support/test-app';
import { bearer, startTestApp } from '../support/test-app';

/**
 * Operating event deliveries, end to end: the real app and database, real HTTP receivers on
 * 127.0.0.1 (allowed by EVENTS_ALLOWED_DESTINATIONS). The receivers verify signatures with their
 * own code, as a subscriber would from the documented rule: any v1 in the header that equals
 * hex(HMAC-SHA256(secret, t + "." + body)).
 */

function receiverAccepts(secret: string, received: Received): boolean {
  const header = String(received.headers['x-payments-signature'] ?? '');
  const parts = header.split(',').map((part) => part.split('=', 2) as [string, string]);
  const timestamp = parts.find(([name]) => name === 't')?.[1];
  if (!timestamp) return false;
  const expected = createHmac('sha256', secret).update(`${timestamp}.${received.body}`).digest();
  return parts
    .filter(([name, value]) => name === 'v1' && /^[0-9a-f]{64}$/.test(value))
    .some(([, value]) => timingSafeEqual(Buffer.from(value, 'hex'), expected));
}

function signatureCount(received: Received): number {
  return String(received.headers['x-payments-signature'])
    .split(',')
    .filter((part) => part.startsWith('v1=')).length;
}

interface DeliveryBody {
  id: string;
  eventId: string;
  type: string;
  status: string;
  attempts: number;
  maxAttempts: number;
  responseStatus: number | null;
  latencyMs: number | null;
  lastError: string | null;
  nextAttemptAt: string | null;
  deliveredAt: string | null;
  redeliveryOf: string | null;
  payload: { id: string; type: string; data: Record<string, unknown> };
}

describe('event operations: delivery log, redelivery, ping, secret rotation, type filters', () => {
  let t: TestApp;
  let receiver: Receiver;
  let receiverUrl: string;
  const admin = () => bearer(t.adminKey);

  beforeAll(async () => {
    t = await startTestApp({ env: { EVENTS_ALLOWED_DESTINATIONS: '127.0.0.0/8' } });
    receiver = new Receiver();
    receiverUrl = await receiver.start();
  });
  afterAll(async () => {
    await receiver.stop();
    await t.close();
  });
  afterEach(async () => {
    // Each test sees only its own subscriptions' deliveries at the receiver.
    const active = await t.http.get('/v1/event-subscriptions').set(admin());
    for (const { id } of active.body as Array<{ id: string }>)
      await t.http.delete(`/v1/event-subscriptions/${id}`).set(admin());
  });
  beforeEach(() => {
    receiver.received.length = 0;
    receiver.answers.length = 0;
    receiver.otherwise = { status: 200, body: 'OK' };
  });

  async function subscribe(events?: string[]): Promise<{ id: string; secret: string }> {
    const response = await t.http
      .post('/v1/event-subscriptions')
      .set(admin())
      .send({ url: `${receiverUrl}/events`, ...(events ? { events } : {}) });
    expect(response.status).toBe(201);
    return response.body as { id: string; secret: string };
  }

  async function emit(type: 'payout.status_changed' | 'payout.completed', data: Record<string, unknown>) {
    await t.app.get(OutboundEvents).enqueue(t.dataSource.manager, type, data);
  }

  async function deliveries(subscriptionId: string, query = ''): Promise<DeliveryBody[]> {
    const response = await t.http.get(`/v1/event-subscriptions/${subscriptionId}/deliveries${query}`).set(admin());
    expect(response.status).toBe(200);
    return response.body.items as DeliveryBody[];
  }

  /** Runs dispatch passes (the timer runs too) until the subscription's deliveries satisfy `done`. */
  function settle(subscriptionId: string, done: (items: DeliveryBody[]) => boolean): Promise<DeliveryBody[]> {
    return eventually(
      async () => {
        await t.app.get(OutboundEvents).dispatch();
        return deliveries(subscriptionId);
      },
      done,
      10_000,
    );
  }

  /** Makes a failed delivery due now instead of after its back-off, so the test need not wait. */
  async function dueNow(subscriptionId: string): Promise<void> {
    await t.dataSource.query(
      `UPDATE outbound_events SET next_attempt_at = now() WHERE subscription_id = $1 AND delivered_at IS NULL`,
      [subscriptionId],
    );
  }

  it('delivers only the types a subscription chose', async () => {
    const finals = await subscribe(['payout.completed']);
    const everything = await subscribe(['payout.status_changed', 'payout.completed']);
    await emit('payout.status_changed', { payoutId: 'p-types', to: 'completed' });
    await emit('payout.completed', { payoutId: 'p-types', to: 'completed' });
    const mine = await settle(finals.id, (items) => items.length === 1 && items[0].status === 'delivered');
    expect(mine.map((d) => d.type)).toEqual(['payout.completed']);
    const all = await settle(everything.id, (items) => items.every((d) => d.status === 'delivered'));
    expect(all.map((d) => d.type).sort()).toEqual(['payout.completed', 'payout.status_changed']);
    await t.http.delete(`/v1/event-subscriptions/${finals.id}`).set(admin());
    await t.http.delete(`/v1/event-subscriptions/${everything.id}`).set(admin());

    const unknownType = await t.http
      .post('/v1/event-subscriptions')
      .set(admin())
      .send({ url: `${receiverUrl}/events`, events: ['payout.exploded'] });
    expect(unknownType.status).toBe(400);
    expect(unknownType.body.error.details[0]).toMatchObject({ field: 'events' });
  });

  it('logs each delivery: attempts, the receiver’s status and latency, the last error; then the success', async () => {
    const subscription = await subscribe();
    receiver.answers.push({ status: 503, body: 'busy' });
    await emit('payout.status_changed', { payoutId: 'p-log', to: 'completed' });
    const [failed] = await settle(subscription.id, (items) => items.length === 1 && items[0].attempts === 1);
    expect(failed).toMatchObject({
      type: 'payout.status_changed',
      status: 'pending',
      attempts: 1,
      maxAttempts: 15,
      responseStatus: 503,
      lastError: 'HTTP 503',
      deliveredAt: null,
      redeliveryOf: null,
      payload: { type: 'payout.status_changed', data: { payoutId: 'p-log', to: 'completed' } },
    });
    expect(failed.latencyMs).toEqual(expect.any(Number));
    expect(Date.parse(failed.nextAttemptAt ?? '')).toBeGreaterThan(Date.now());
    expect(failed.eventId).toBe(failed.payload.id);

    await dueNow(subscription.id);
    const [delivered] = await settle(subscription.id, (items) => items[0].status === 'delivered');
    expect(delivered).toMatchObject({ attempts: 2, responseStatus: 200, lastError: null, nextAttemptAt: null });
    expect(receiver.received).toHaveLength(2);
    expect(receiver.received.every((r) => receiverAccepts(subscription.secret, r))).toBe(true);

    expect(await deliveries(subscription.id, '?status=pending')).toEqual([]);
    expect((await deliveries(subscription.id, '?status=delivered')).map((d) => d.id)).toEqual([delivered.id]);
  });

  it('marks a delivery failed after its last attempt, and redelivers it as a new delivery of the same event', async () => {
    const subscription = await subscribe();
    await emit('payout.status_changed', { payoutId: 'p-redeliver', to: 'failed' });
    // As if its 15 attempts were spent: the one left fails.
    await t.dataSource.query(`UPDATE outbound_events SET attempts = 14 WHERE subscription_id = $1`, [subscription.id]);
    receiver.otherwise = { status: 500, body: 'down' };
    const [failed] = await settle(subscription.id, (items) => items[0]?.attempts === 15);
    expect(failed).toMatchObject({ status: 'failed', responseStatus: 500, nextAttemptAt: null });

    // The receiver still failing: the redelivery stays pending (retried), whatever the dispatcher does meanwhile.
    const redelivery = await t.http
      .post(`/v1/event-subscriptions/${subscription.id}/deliveries/${failed.id}/redeliver`)
      .set(admin());
    expect(redelivery.status).toBe(202);
    expect(redelivery.body).toMatchObject({
      status: 'pending',
      attempts: 0,
      redeliveryOf: failed.id,
      eventId: failed.eventId,
      type: 'payout.status_changed',
    });
    // One delivery of an event at a time: asking again, of the original or of the redelivery, is refused.
    for (const again of [failed.id, redelivery.body.id as string]) {
      const refused = await t.http
        .post(`/v1/event-subscriptions/${subscription.id}/deliveries/${again}/redeliver`)
        .set(admin());
      expect(refused.status).toBe(409);
      expect(refused.body.error).toMatchObject({
        code: 'DELIVERY_STILL_PENDING',
        details: { subscriptionId: subscription.id, deliveryId: redelivery.body.id },
      });
    }
    receiver.otherwise = { status: 204, body: '' };
    const after = await settle(subscription.id, (items) => items.some((d) => d.status === 'delivered'));
    expect(after.map((d) => [d.id, d.status])).toEqual([
      [redelivery.body.id, 'delivered'],
      [failed.id, 'failed'],
    ]);
    const last = receiver.received[receiver.received.length - 1];
    expect(last.headers['x-payments-event-id']).toBe(failed.eventId);
    expect(receiverAccepts(subscription.secret, last)).toBe(true);

    const unknown = await t.http
      .post(`/v1/event-subscriptions/${subscription.id}/deliveries/999999999/redeliver`)
      .set(admin());
    expect(unknown.status).toBe(404);
    const malformed = await t.http
      .post(`/v1/event-subscriptions/${subscription.id}/deliveries/12ab/redeliver`)
      .set(admin());
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.details[0]).toMatchObject({ field: 'deliveryId', code: 'IS_DIGITS' });
  });

  it('pings now and answers how it went; a failed ping is not retried', async () => {
    const subscription = await subscribe(['credential.expired']);
    const ok = await t.http.post(`/v1/event-subscriptions/${subscription.id}/ping`).set(admin());
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({
      type: 'ping',
      status: 'delivered',
      attempts: 1,
      maxAttempts: 1,
      responseStatus: 200,
    });
    const ping = receiver.received[receiver.received.length - 1];
    expect(JSON.parse(ping.body)).toMatchObject({ type: 'ping', data: { subscriptionId: subscription.id } });
    expect(receiverAccepts(subscription.secret, ping)).toBe(true);

    receiver.otherwise = { status: 500, body: 'no' };
    const bad = await t.http.post(`/v1/event-subscriptions/${subscription.id}/ping`).set(admin());
    expect(bad.status).toBe(200);
    expect(bad.body).toMatchObject({ status: 'failed', attempts: 1, responseStatus: 500, lastError: 'HTTP 500' });
    await dueNow(subscription.id);
    await t.app.get(OutboundEvents).dispatch();
    expect(receiver.received).toHaveLength(2); // the failed ping was not sent again
  });

  it('rotates the signing secret with an overlap: a receiver on the old secret keeps verifying until it ends', async () => {
    const subscription = await subscribe();
    const rotated = await t.http
      .post(`/v1/event-subscriptions/${subscription.id}/rotate-secret`)
      .set(admin())
      .send({ overlapHours: 2 });
    expect(rotated.status).toBe(200);
    const newSecret = rotated.body.secret as string;
    expect(newSecret).toMatch(/^whsec_/);
    expect(newSecret).not.toBe(subscription.secret);
    expect(rotated.body.secretHint).toBe(`…${newSecret.slice(-4)}`);
    expect(Date.parse(rotated.body.previousSecretExpiresAt) - Date.now()).toBeGreaterThan(110 * 60_000);

    await emit('payout.status_changed', { payoutId: 'p-rotate', to: 'completed' });
    await settle(subscription.id, (items) => items.length === 1 && items[0].status === 'delivered');
    const during = receiver.received[receiver.received.length - 1];
    expect(signatureCount(during)).toBe(2);
    expect(receiverAccepts(subscription.secret, during)).toBe(true); // the old receiver
    expect(receiverAccepts(newSecret, during)).toBe(true); // the switched one
    expect(receiverAccepts('whsec_someone-else', during)).toBe(false);

    // The overlap ends (as if two hours passed): only the new secret signs.
    await t.dataSource.query(
      `UPDATE event_subscriptions SET previous_secret_expires_at = now() - interval '1 second' WHERE id = $1`,
      [subscription.id],
    );
    await emit('payout.status_changed', { payoutId: 'p-rotate-2', to: 'completed' });
    await settle(subscription.id, (items) => items.length === 2 && items.every((d) => d.status === 'delivered'));
    const after = receiver.received[receiver.received.length - 1];
    expect(signatureCount(after)).toBe(1);
    // Past its overlap the replaced secret is not kept either (a dispatch pass forgets it).
    await t.app.get(OutboundEvents).dispatch();
    const [stored] = await t.dataSource.query(
      `SELECT previous_ciphertext, previous_secret_expires_at FROM event_subscriptions WHERE id = $1`,
      [subscription.id],
    );
    expect(stored).toEqual({ previous_ciphertext: null, previous_secret_expires_at: null });
    expect(receiverAccepts(subscription.secret, after)).toBe(false);
    expect(receiverAccepts(newSecret, after)).toBe(true);

    const listed = await t.http.get('/v1/event-subscriptions').set(admin());
    const shown = JSON.stringify(listed.body);
    expect(shown).not.toContain(newSecret);
    expect(shown).not.toContain(subscription.secret);

    // overlapHours 0: the replaced secret stops at once.
    const immediate = await t.http
      .post(`/v1/event-subscriptions/${subscription.id}/rotate-secret`)
      .set(admin())
      .send({ overlapHours: 0 });
    expect(immediate.body.previousSecretExpiresAt).toBeNull();
    receiver.received.length = 0;
    await t.http.post(`/v1/event-subscriptions/${subscription.id}/ping`).set(admin());
    expect(signatureCount(receiver.received[0])).toBe(1);
    expect(receiverAccepts(immediate.body.secret, receiver.received[0])).toBe(true);
    expect(receiverAccepts(newSecret, receiver.received[0])).toBe(false);

    const tooLong = await t.http
      .post(`/v1/event-subscriptions/${subscription.id}/rotate-secret`)
      .set(admin())
      .send({ overlapHours: 169 });
    expect(tooLong.status).toBe(400);
  });

  it('pages deliveries with a cursor, and refuses what it cannot find or may not do', async () => {
    const subscription = await subscribe();
    for (let index = 0; index < 3; index++) await emit('payout.status_changed', { payoutId: `p-page-${index}` });
    await settle(subscription.id, (items) => items.length === 3 && items.every((d) => d.status === 'delivered'));
    const first = await t.http.get(`/v1/event-subscriptions/${subscription.id}/deliveries?limit=2`).set(admin());
    expect(first.body.items).toHaveLength(2);
    const second = await t.http
      .get(`/v1/event-subscriptions/${subscription.id}/deliveries?limit=2&cursor=${first.body.nextCursor}`)
      .set(admin());
    expect(second.body.items).toHaveLength(1);
    expect(second.body.nextCursor).toBeNull();
    const ids = [...first.body.items, ...second.body.items].map((d: DeliveryBody) => Number(d.id));
    expect(ids).toEqual([...ids].sort((a, b) => b - a));

    const foreignCursor = Buffer.from('a:5').toString('base64url'); // an audit-trail cursor
    const refused = await t.http
      .get(`/v1/event-subscriptions/${subscription.id}/deliveries?cursor=${foreignCursor}`)
      .set(admin());
    expect(refused.status).toBe(400);
    expect(refused.body.error.details[0]).toMatchObject({ field: 'cursor', code: 'INVALID_CURSOR' });
    const nobody = await t.http
      .get('/v1/event-subscriptions/00000000-0000-4000-8000-000000000000/deliveries')
      .set(admin());
    expect(nobody.status).toBe(404);

    // A stopped subscription keeps its log; nothing more is sent to it. A delivery that had already
    // failed stays failed, with the error it failed with.
    await t.dataSource.query(
      `INSERT INTO outbound_events (subscription_id, type, payload, next_attempt_at, attempts, max_attempts, last_error)
       VALUES ($1, 'payout.status_changed', $2::jsonb, now(), 15, 15, 'HTTP 500')`,
      [subscription.id, JSON.stringify({ id: randomUUID(), data: { payoutId: 'p-failed-before-stop' } })],
    );
    await emit('payout.status_changed', { payoutId: 'p-after-stop' });
    expect((await t.http.delete(`/v1/event-subscriptions/${subscription.id}`).set(admin())).status).toBe(204);
    const log = await deliveries(subscription.id);
    expect(log.find((d) => d.payload.data.payoutId === 'p-after-stop')?.status).toBe('stopped');
    expect(log.find((d) => d.payload.data.payoutId === 'p-failed-before-stop')).toMatchObject({
      status: 'failed',
      lastError: 'HTTP 500',
    });
    for (const path of ['ping', 'rotate-secret', `deliveries/${log[1].id}/redeliver`]) {
      const response = await t.http.post(`/v1/event-subscriptions/${subscription.id}/${path}`).set(admin()).send({});
      expect([path, response.status, response.body.error.code]).toEqual([path, 409, 'EVENT_SUBSCRIPTION_DISABLED']);
    }
  });
});
