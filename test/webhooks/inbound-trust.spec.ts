import { randomUUID } from 'node:crypto';
import { RateLimiter } from '../../src/common/rate-limit/rate-limiter';
import { Environment } from '../../src/config/environment';
import { d24Control } from '../../src/providers/d24/d24.signature';
import { admin, eventually } from '../support/sim-client';
import type { ProviderWorld } from '../support/provider-world';
import { startProviderWorld } from '../support/provider-world';
import { bearer } from '../support/test-app';

const d24Beneficiary = {
  type: 'latam_bank_account',
  country: 'BR',
  name: 'José',
  documentId: '84932568207',
  documentType: 'CPF',
  bankCode: 1,
  bankAccount: '123456789',
  bankBranch: '0001',
  accountType: 'C',
};

/**
 * Provider notifications as an attacker (or a flaky network) would send them: a notification is
 * trusted only for what its proof covers, a refused one costs a counter and nothing else, and
 * floods and replays stay cheap.
 */
describe('inbound notifications: trusted for what is signed, cheap to refuse', () => {
  let world: ProviderWorld;
  let environment: Environment;

  beforeAll(async () => {
    world = await startProviderWorld({}, 41);
    environment = world.t.app.get(Environment);
  });
  afterAll(() => world.close());

  const post = (body: Record<string, unknown>) =>
    world.t.http.post('/v1/payouts').set(bearer(world.t.adminKey)).set('Idempotency-Key', randomUUID()).send(body);
  const get = async (id: string) => (await world.t.http.get(`/v1/payouts/${id}`).set(bearer(world.t.adminKey))).body;
  const d24Payout = (beneficiary: Record<string, unknown> = d24Beneficiary) => ({
    provider: 'd24',
    environment: 'simulator',
    amount: '10.00',
    currency: 'BRL',
    beneficiary,
  });
  const controlFor = async (externalId: string) => {
    const { secret } = (await world.vault.activeMaterial('d24', 'simulator', 'api_keys'))!;
    return d24Control(secret.apiSignature, externalId, 'Be4', 'Bo7');
  };
  const countRows = async () =>
    (
      await world.t.dataSource.query(
        `SELECT (SELECT count(*) FROM webhook_deliveries)::int AS deliveries, (SELECT count(*) FROM payout_events)::int AS events`,
      )
    )[0] as { deliveries: number; events: number };

  it("an unsigned cashout_id cannot choose what is fetched or stored: another payout's completion never lands on this one", async () => {
    const other = await post(d24Payout());
    const otherDone = await eventually(
      () => get(other.body.id),
      (p) => p.status === 'completed',
    );
    await admin(world.sims, 'PATCH', '/d24/settings', { timeline: { deliverAfterMs: 60_000 } });
    try {
      const target = await post(d24Payout());
      expect(target.body.status).toBe('pending');
      // As for a payout reconciled after D24's 511, whose status answer carries no cashout_id.
      await world.t.dataSource.query('UPDATE payouts SET provider_reference = NULL WHERE id = $1', [target.body.id]);
      const form = {
        external_id: target.body.id,
        control: await controlFor(target.body.id),
        cashout_id: otherDone.providerReference,
        date: '2026-11-24 07:00:00',
        bank_reference_id: '',
        comments: '',
        status_reason: '',
      };
      const response = await world.t.http.post('/v1/webhooks/d24').type('form').send(form);
      expect(response.status).toBe(200);
      const after = await get(target.body.id);
      expect(after.status).toBe('pending');
      expect(after.providerReference).toBeNull();
    } finally {
      await admin(world.sims, 'PATCH', '/d24/settings', { timeline: { deliverAfterMs: 150 } });
    }
  });

  it("a notification signed with one environment's keys cannot touch a payout of another environment", async () => {
    const stgSignature = 'stg-signature-0000000000000000000';
    await world.t.http
      .post('/v1/credentials/d24/keys')
      .set(bearer(world.t.adminKey))
      .send({ environment: 'stg', apiKey: 'stg-key', apiPassphrase: 'stg-passphrase', apiSignature: stgSignature })
      .expect(201);
    await admin(world.sims, 'PATCH', '/d24/settings', { timeline: { deliverAfterMs: 60_000 } });
    try {
      const payout = await post(d24Payout());
      expect(payout.body.status).toBe('pending');
      const before = await countRows();
      const response = await world.t.http
        .post('/v1/webhooks/d24')
        .type('form')
        .send({ external_id: payout.body.id, control: d24Control(stgSignature, payout.body.id, 'Be4', 'Bo7') });
      // Authentic (our stg keys sign it), but about a payout stg cannot speak for: nothing is written or fetched.
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ outcome: 'unknown_payout' });
      expect(await countRows()).toEqual(before);
      const own = await world.t.http
        .post('/v1/webhooks/d24')
        .type('form')
        .send({ external_id: payout.body.id, control: await controlFor(payout.body.id) });
      expect(own.body).toEqual({ outcome: 'applied' });
    } finally {
      await admin(world.sims, 'PATCH', '/d24/settings', { timeline: { deliverAfterMs: 150 } });
    }
  });

  it('refused notifications write nothing and are counted in the logs', async () => {
    const payout = await post(d24Payout());
    await eventually(
      () => get(payout.body.id),
      (p) => p.status === 'completed',
    );
    const before = await countRows();
    const forged = [
      ...Array.from({ length: 10 }, (_, i) =>
        world.t.http
          .post('/v1/webhooks/d24')
          .type('form')
          .send({ external_id: payout.body.id, control: 'AB'.repeat(32), date: String(i) }),
      ),
      ...Array.from({ length: 10 }, () =>
        world.t.http.post('/v1/webhooks/d24').type('form').send({ external_id: randomUUID(), control: 'nope' }),
      ),
      ...Array.from({ length: 10 }, () =>
        world.t.http.post('/v1/webhooks/connectpay').send({ paymentOrderNo: 'x', externalReference: payout.body.id }),
      ),
      ...Array.from({ length: 10 }, () =>
        world.t.http.post('/v1/webhooks/connectpay').set('X-Secret-Token', 'guess').send({ paymentOrderNo: 'x' }),
      ),
    ];
    const answers = await Promise.all(forged);
    expect(answers.every((answer) => answer.status === 401 && answer.body.error.code === 'UNAUTHENTICATED')).toBe(true);
    expect(await countRows()).toEqual(before);
    expect(world.t.logs.text).toMatch(/"reason":"unverified"[^\n]*"msg":"refused provider notifications"/);
    expect((await get(payout.body.id)).status).toBe('completed');
  });

  it('a D24 notification from an address off D24_NOTIFICATION_ALLOWED_IPS is refused, however well its control string verifies', async () => {
    const payout = await post(d24Payout());
    const done = await eventually(
      () => get(payout.body.id),
      (p) => p.status === 'completed',
    );
    const form = { external_id: done.id, control: await controlFor(done.id) };
    const before = await countRows();
    environment.D24_NOTIFICATION_ALLOWED_IPS = '192.0.2.10, 192.0.2.11';
    try {
      const refused = await world.t.http.post('/v1/webhooks/d24').type('form').send(form);
      expect([refused.status, refused.body.error.code]).toEqual([401, 'UNAUTHENTICATED']);
      expect(await countRows()).toEqual(before);
      expect(world.t.logs.text).toMatch(/"reason":"source_not_allowed"[^\n]*"msg":"refused provider notifications"/);
      // This test's address listed: the same notification is taken.
      environment.D24_NOTIFICATION_ALLOWED_IPS = '192.0.2.10,127.0.0.1';
      const accepted = await world.t.http.post('/v1/webhooks/d24').type('form').send(form);
      expect(accepted.status).toBe(200);
    } finally {
      environment.D24_NOTIFICATION_ALLOWED_IPS = undefined;
    }
  });

  it('webhook routes take small bodies only, refused before anything is verified', async () => {
    const before = await countRows();
    const big = await world.t.http
      .post('/v1/webhooks/d24')
      .type('form')
      .send(`external_id=${'a'.repeat(100_000)}`);
    expect([big.status, big.body.error.code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
    const bigJson = await world.t.http.post('/v1/webhooks/connectpay').send({ padding: 'x'.repeat(100_000) });
    expect(bigJson.status).toBe(413);
    expect(await countRows()).toEqual(before);
  });

  it('a flood from one source gets 429 with Retry-After', async () => {
    const limiter = world.t.app.get(RateLimiter);
    await limiter.sync();
    (limiter as unknown as { buckets: Map<string, unknown> }).buckets.clear();
    await world.t.dataSource.query('DELETE FROM rate_limit_counters');
    const configured = environment.RATE_LIMIT_WEBHOOKS_PER_SOURCE;
    environment.RATE_LIMIT_WEBHOOKS_PER_SOURCE = 5;
    try {
      const statuses: number[] = [];
      let retryAfter: string | undefined;
      for (let i = 0; i < 8; i++) {
        const answer = await world.t.http
          .post('/v1/webhooks/d24')
          .type('form')
          .send({ external_id: randomUUID(), control: 'x' });
        statuses.push(answer.status);
        if (answer.status === 429) retryAfter = answer.headers['retry-after'];
      }
      expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429, 429]);
      expect(Number(retryAfter)).toBeGreaterThan(0);
    } finally {
      environment.RATE_LIMIT_WEBHOOKS_PER_SOURCE = configured;
      (limiter as unknown as { buckets: Map<string, unknown> }).buckets.clear();
    }
  });

  it("D24's reversal of a completed payout still arrives when notifications are throttled", async () => {
    environment.WEBHOOK_FETCH_INTERVAL_MS = 1_500;
    try {
      const created = await post(d24Payout({ ...d24Beneficiary, bankAccount: '9999999999' }));
      const reversed = await eventually(
        () => get(created.body.id),
        (p) => p.status === 'rejected',
        10_000,
      );
      expect(reversed.failure.code).toBe('PAYOUT_REVERSED');
      const history: Array<{ type: string; toStatus: string }> = (
        await world.t.http.get(`/v1/payouts/${created.body.id}/events`).set(bearer(world.t.adminKey))
      ).body;
      expect(history.filter((event) => event.type === 'illegal_update')).toEqual([]);
    } finally {
      environment.WEBHOOK_FETCH_INTERVAL_MS = 50;
    }
  });
});
