import { randomUUID } from 'node:crypto';
import { DemoSeed } from '../../src/demo/demo-seed';
import { VerestroCallbackServer } from '../../src/providers/verestro/verestro-callbacks.server';
import type { ProviderWorld } from '../support/provider-world';
import { startProviderWorld } from '../support/provider-world';
import { Receiver } from '../support/receiver';
import { admin, eventually } from '../support/sim-client';
import { bearer } from '../support/test-app';

const bodies = {
  d24: {
    provider: 'd24',
    environment: 'simulator',
    amount: '150.75',
    currency: 'BRL',
    beneficiary: {
      type: 'latam_bank_account',
      country: 'BR',
      name: 'José',
      documentId: '84932568207',
      documentType: 'CPF',
      bankCode: 1,
      bankAccount: '123456789',
      bankBranch: '0001',
      accountType: 'C',
    },
  },
  connectpay: {
    provider: 'connectpay',
    environment: 'simulator',
    amount: '42.10',
    currency: 'EUR',
    beneficiary: { type: 'iban', name: 'Erika Mustermann', iban: 'DE89370400440532013000', bic: 'COBADEFFXXX' },
  },
  verestro: {
    provider: 'verestro',
    environment: 'simulator',
    amount: '19.99',
    currency: 'EUR',
    beneficiary: { type: 'card', cardToken: 'tok_visa_4242' },
  },
} as const;
type Rail = keyof typeof bodies;

/**
 * POST /v1/payouts for a provider environment that cannot take a payout (no credential in
 * service, none but a revoked one, no OAuth authorization, no host) is refused with 409 before
 * anything is stored: no payout, no history, no outbox event, and the Idempotency-Key stays free,
 * so the same request with the same key is created once the operator has fixed it.
 */
describe('payouts for a provider environment without what a create needs: 409, nothing stored', () => {
  let world: ProviderWorld;
  const receiver = new Receiver();
  /** The key of each rail's first, refused request, sent again once the credentials are there. */
  const keys: Record<Rail, string> = { d24: randomUUID(), connectpay: randomUUID(), verestro: randomUUID() };

  beforeAll(async () => {
    world = await startProviderWorld({ EVENTS_ALLOWED_DESTINATIONS: '127.0.0.0/8' }, 57, { seedCredentials: false });
    // With a subscriber, every payout change writes an outbox row: a refusal must write none.
    const subscription = await world.t.http
      .post('/v1/event-subscriptions')
      .set(bearer(world.t.adminKey))
      .send({ url: `${await receiver.start()}/events` });
    expect(subscription.status).toBe(201);
  });
  afterAll(async () => {
    await world.close();
    await receiver.stop();
  });

  const post = (body: object, key: string) =>
    world.t.http.post('/v1/payouts').set(bearer(world.t.adminKey)).set('Idempotency-Key', key).send(body);

  /** Rows a create writes, for one provider (events and outbox rows through their payout). */
  const footprint = async (provider: string) =>
    (
      await world.t.dataSource.query(
        `SELECT (SELECT count(*) FROM payouts WHERE provider = $1)::int AS payouts,
                (SELECT count(*) FROM payout_events e JOIN payouts p ON p.id = e.payout_id WHERE p.provider = $1)::int AS events,
                (SELECT count(*) FROM outbound_events WHERE payload->'data'->>'provider' = $1)::int AS outbox,
                (SELECT count(*) FROM idempotency_keys)::int AS "idempotencyKeys"`,
        [provider],
      )
    )[0] as { payouts: number; events: number; outbox: number; idempotencyKeys: number };

  it.each(Object.keys(bodies) as Rail[])(
    '%s: 409 CREDENTIAL_MISSING naming the provider environment; no payout, event, outbox row or key written',
    async (rail) => {
      const refused = await post(bodies[rail], keys[rail]);
      expect(refused.status).toBe(409);
      expect(refused.body).toEqual({
        error: {
          code: 'CREDENTIAL_MISSING',
          message: expect.stringMatching(
            new RegExp(
              `^No \\w+ credential is in service for ${rail} simulator; store and activate one under /v1/credentials/${rail}\\. ` +
                'No payout was created: once this is fixed, send the same request with the same Idempotency-Key again\\.$',
            ),
          ),
          details: { provider: rail, environment: 'simulator' },
        },
      });
      expect(await footprint(rail)).toEqual({ payouts: 0, events: 0, outbox: 0, idempotencyKeys: 0 });
      expect(
        (await world.t.dataSource.query('SELECT count(*)::int AS n FROM payout_events'))[0].n +
          (await world.t.dataSource.query('SELECT count(*)::int AS n FROM outbound_events'))[0].n,
      ).toBe(0);
    },
  );

  it('409 PROVIDER_NOT_CONFIGURED for an environment whose host is not configured, nothing written', async () => {
    const refused = await post({ ...bodies.verestro, environment: 'beta' }, randomUUID());
    expect([refused.status, refused.body.error.code, refused.body.error.details]).toEqual([
      409,
      'PROVIDER_NOT_CONFIGURED',
      { provider: 'verestro', environment: 'beta' },
    ]);
    expect(refused.body.error.message).toContain('Set VERESTRO_BETA_URL');
    expect(await footprint('verestro')).toEqual({ payouts: 0, events: 0, outbox: 0, idempotencyKeys: 0 });
  });

  it('once the credentials are stored, the same Idempotency-Key and body answer 201 on every rail (ConnectPay after its OAuth authorization)', async () => {
    const sims = world.sims;
    // The operator stores every credential the simulators accept (the demo's own vault flows),
    // except ConnectPay's OAuth authorization, which an operator completes separately.
    await new DemoSeed(
      world.t.app,
      { urls: sims.urls, serverCaFile: '' },
      world.baseUrl,
      world.t.app.get(VerestroCallbackServer).url,
    ).run();

    for (const rail of ['d24', 'verestro'] as const) {
      const created = await post(bodies[rail], keys[rail]);
      expect([rail, created.status, created.body.status]).toEqual([rail, 201, 'pending']);
      const again = await post(bodies[rail], keys[rail]);
      expect([again.status, again.body]).toEqual([201, created.body]);
    }
    // The counters do count: a stored payout has its history and its outbox row.
    const stored = await footprint('d24');
    expect([stored.payouts, stored.events >= 2, stored.outbox >= 1]).toEqual([1, true, true]);

    const unauthorized = await post(bodies.connectpay, keys.connectpay);
    expect([unauthorized.status, unauthorized.body.error.code, unauthorized.body.error.details]).toEqual([
      409,
      'OAUTH_AUTHORIZATION_REQUIRED',
      { provider: 'connectpay', environment: 'simulator' },
    ]);
    expect(await footprint('connectpay')).toEqual({ payouts: 0, events: 0, outbox: 0, idempotencyKeys: 2 });

    const { code } = (await admin<{ code: string }>(sims, 'POST', '/connectpay/auth-codes')).body;
    const authorized = await world.t.http
      .post('/v1/credentials/connectpay/oauth/authorize')
      .set(bearer(world.t.adminKey))
      .send({ environment: 'simulator', authCode: code });
    expect(authorized.status).toBe(201);
    const created = await post(bodies.connectpay, keys.connectpay);
    expect([created.status, created.body.provider]).toEqual([201, 'connectpay']);
    expect((await footprint('connectpay')).idempotencyKeys).toBe(3);
  });

  it('409 CREDENTIAL_REVOKED for a new key once the credential is revoked, nothing written; a key answered before replays', async () => {
    const [d24Payout] = await world.t.dataSource.query(`SELECT id FROM payouts WHERE provider = 'd24'`);
    // Finished first, so nothing of its own writes while the refusal is measured.
    await eventually(
      async () => (await world.t.http.get(`/v1/payouts/${d24Payout.id}`).set(bearer(world.t.adminKey))).body,
      (payout: { status: string }) => payout.status === 'completed',
    );
    const [keysInService] = (
      await world.t.http
        .get('/v1/credentials?provider=d24&environment=simulator&kind=api_keys&status=active')
        .set(bearer(world.t.adminKey))
    ).body as Array<{ id: string }>;
    const revoked = await world.t.http.post(`/v1/credentials/${keysInService.id}/revoke`).set(bearer(world.t.adminKey));
    expect(revoked.status).toBe(200);

    const before = await footprint('d24');
    const refused = await post(bodies.d24, randomUUID());
    expect([refused.status, refused.body.error.code, refused.body.error.details]).toEqual([
      409,
      'CREDENTIAL_REVOKED',
      { provider: 'd24', environment: 'simulator' },
    ]);
    expect(await footprint('d24')).toEqual(before);

    const replayed = await post(bodies.d24, keys.d24);
    expect([replayed.status, replayed.body.id]).toEqual([201, d24Payout.id]);
  });
});
