import type { ConnectPayProvider } from '../../src/providers/connectpay/connectpay.provider';
import { ProviderError } from '../../src/providers/provider.port';
import { ConnectPayTokens } from '../../src/providers/connectpay/connectpay.oauth';
import { assertHostFamily } from '../../src/providers/connectpay/connectpay.endpoints';
import { CredentialExpiryJob } from '../../src/credentials/credential-expiry.job';
import { admin, eventually } from '../support/sim-client';
import type { ProviderWorld } from '../support/provider-world';
import { startProviderWorld } from '../support/provider-world';
import { bearer } from '../support/test-app';
import { ConnectPayOnboarding } from '../../src/providers/connectpay/connectpay.onboarding';

describe('ConnectPay client against the simulator (real mTLS and one-way TLS)', () => {
  let world: ProviderWorld;
  let connectpay: ConnectPayProvider;

  beforeAll(async () => {
    world = await startProviderWorld({ PROVIDER_CIRCUIT_FAILURES: '50' }, 7);
    connectpay = world.registry.get('connectpay', 'simulator') as ConnectPayProvider;
  });
  afterAll(() => world.close());

  it('asks for an authorization before any OAuth call', async () => {
    await expect(connectpay.listAccounts()).rejects.toMatchObject({ code: 'OAUTH_AUTHORIZATION_REQUIRED' });
    const response = await world.t.http.get('/v1/credentials').set(bearer(world.t.adminKey));
    expect(response.body.some((c: { kind: string }) => c.kind === 'oauth_refresh_token')).toBe(false);
  });

  it('exchanges an operator auth code through the API and keeps the refresh token sealed, flagged only in its last week', async () => {
    const { code } = (await admin<{ code: string }>(world.sims, 'POST', '/connectpay/auth-codes')).body;
    const response = await world.t.http
      .post('/v1/credentials/connectpay/oauth/authorize')
      .set(bearer(world.t.adminKey))
      .send({ environment: 'simulator', authCode: code });
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({
      kind: 'oauth_refresh_token',
      status: 'active',
      hints: { refreshToken: expect.stringMatching(/^…/) },
    });
    const days = (new Date(response.body.expiresAt).getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(29.9);
    const reused = await world.t.http
      .post('/v1/credentials/connectpay/oauth/authorize')
      .set(bearer(world.t.adminKey))
      .send({ environment: 'simulator', authCode: code });
    expect([reused.status, reused.body.error.code]).toEqual([409, 'OAUTH_AUTHORIZATION_REQUIRED']);
  });

  it('lists accounts with balances and transactions', async () => {
    const accounts = await connectpay.listAccounts();
    expect(accounts[0]).toMatchObject({
      id: 'acc-eur-main',
      currency: 'EUR',
      balance: { currency: 'EUR', amount: expect.stringMatching(/^\d+\.\d{2}$/) },
    });
    expect((await connectpay.getBalance('acc-eur-main')).currency).toBe('EUR');
    const transactions = await connectpay.listTransactions('acc-eur-main', {});
    expect(transactions[0]).toMatchObject({ direction: 'credit', description: 'Opening balance' });
  });

  it('pays out via rails → initiate → nosca → status, and never initiates twice for one external id', async () => {
    const instruction = {
      externalId: `po-${Date.now()}`,
      amount: { amount: '42.10', currency: 'EUR' },
      beneficiary: {
        type: 'iban' as const,
        name: 'Erika Mustermann',
        iban: 'DE89370400440532013000',
        bic: 'COBADEFFXXX',
      },
      reference: 'Invoice 77',
    };
    const created = await connectpay.createPayout(instruction);
    expect(created).toMatchObject({
      providerReference: expect.stringMatching(/^s-/),
      fees: { amount: '1.00', currency: 'EUR' },
    });
    expect(['pending', 'processing']).toContain(created.state);
    const done = await eventually(
      () => connectpay.getPayout({ externalId: instruction.externalId, providerReference: created.providerReference }),
      (p) => p.state === 'completed',
    );
    expect(done.providerStatus).toBe('ACSC');

    const again = await connectpay.createPayout(instruction);
    expect(again.providerReference).toBe(created.providerReference);
    const ledger = (
      await admin<Array<{ externalReference: string; amount: string }>>(world.sims, 'GET', '/connectpay/ledger')
    ).body.filter((p) => p.externalReference === instruction.externalId);
    expect(ledger).toEqual([expect.objectContaining({ amount: '42.10' })]);
  });

  it('maps a rejected payment and refuses an unsupported capability', async () => {
    const rejected = await connectpay.createPayout({
      externalId: `po-r-${Date.now()}`,
      amount: { amount: '666.66', currency: 'EUR' },
      beneficiary: { type: 'iban', name: 'X', iban: 'DE89370400440532013000' },
    });
    expect(
      (
        await eventually(
          () => connectpay.getPayout({ externalId: 'x', providerReference: rejected.providerReference }),
          (p) => p.state === 'rejected',
        )
      ).providerStatus,
    ).toBe('RJCT');
    await expect(connectpay.cancelPayout({ externalId: 'x' })).rejects.toMatchObject({
      code: 'CAPABILITY_NOT_SUPPORTED',
      capability: 'payouts.cancel',
    });
  });

  it('refreshes the access token once when it is refused, with one refresh in flight at a time', async () => {
    const tokens = world.t.app.get(ConnectPayTokens);
    tokens.forget('simulator');
    const [a, b, c] = await Promise.all([
      tokens.accessToken('simulator'),
      tokens.accessToken('simulator'),
      tokens.accessToken('simulator'),
    ]);
    expect(new Set([a, b, c]).size).toBe(1);
  });

  it('declares a host family per endpoint and refuses the other one before sending', async () => {
    expect(() => assertHostFamily('accounts', 'tls')).toThrow(/mTLS host only/);
    expect(() => assertHostFamily('merchantCreatePayment', 'mtls')).toThrow(/one-way TLS host only/);
    await admin(world.sims, 'POST', '/counters/reset');
    await expect(connectpay.call('accounts', { via: 'tls' })).rejects.toMatchObject({
      code: 'PROVIDER_NOT_CONFIGURED',
    });
    const counters = (await admin<Record<string, { requests: number }>>(world.sims, 'GET', '/counters')).body;
    expect(counters['connectpay-oneway'].requests + counters['connectpay-mtls'].requests).toBe(0);
  });

  it('maps faults: 500 → PROVIDER_UNAVAILABLE; a reset on initiate → outcome unknown, and the retry continues the same payment', async () => {
    await admin(world.sims, 'PUT', '/connectpay-mtls/faults', {
      route: 'GET /ob/payments/:no/status',
      settings: { errorRate: 1 },
    });
    await expect(connectpay.getPayout({ externalId: 'x', providerReference: 's-1' })).rejects.toMatchObject({
      code: 'PROVIDER_UNAVAILABLE',
    });
    await admin(world.sims, 'DELETE', '/connectpay-mtls/faults');
    await new Promise((resolve) => setTimeout(resolve, 250));

    const instruction = {
      externalId: `po-drop-${Date.now()}`,
      amount: { amount: '3.00', currency: 'EUR' },
      beneficiary: { type: 'iban' as const, name: 'Y', iban: 'DE89370400440532013000' },
    };
    await admin(world.sims, 'PUT', '/connectpay-mtls/faults', {
      route: 'POST /ob/payments',
      settings: { dropResponseRate: 1 },
    });
    await expect(connectpay.createPayout(instruction)).rejects.toMatchObject({
      code: 'PROVIDER_UNAVAILABLE',
      outcomeUnknown: true,
    });
    await admin(world.sims, 'DELETE', '/connectpay-mtls/faults');
    await new Promise((resolve) => setTimeout(resolve, 250));
    const resumed = await connectpay.createPayout(instruction);
    const ledger = (
      await admin<Array<{ externalReference: string; paymentOrderNo: string }>>(world.sims, 'GET', '/connectpay/ledger')
    ).body.filter((p) => p.externalReference === instruction.externalId);
    expect(ledger).toHaveLength(1);
    expect(resumed.providerReference).toBe(ledger[0].paymentOrderNo);

    await admin(world.sims, 'PUT', '/connectpay-mtls/faults', {
      route: 'GET /ob/payments/:no/status',
      settings: { timeoutRate: 1, hangMs: 3000 },
    });
    await expect(connectpay.getPayout({ externalId: 'x', providerReference: 's-1' })).rejects.toMatchObject({
      code: 'PROVIDER_TIMEOUT',
    });
    await admin(world.sims, 'DELETE', '/connectpay-mtls/faults');
    await new Promise((resolve) => setTimeout(resolve, 250));
  });

  it('a malformed answer → PROVIDER_PROTOCOL_ERROR, not a TypeError; after initiate the outcome is unknown and a retry continues the same payment', async () => {
    const instruction = {
      externalId: `po-bad-${Date.now()}`,
      amount: { amount: '4.00', currency: 'EUR' },
      beneficiary: { type: 'iban' as const, name: 'Z', iban: 'DE89370400440532013000' },
    };
    // The simulator initiates the payment, then answers without its number.
    await admin(world.sims, 'PUT', '/connectpay-mtls/faults', {
      route: 'POST /ob/payments',
      settings: { malformedRate: 1, malformedBody: '{"paymentRail":"SEPA_SCT","transactionStatus":"RCVD"}' },
    });
    const error = await connectpay.createPayout(instruction).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ code: 'PROVIDER_PROTOCOL_ERROR', httpStatus: 502, outcomeUnknown: true });
    expect((error as Error).message).toBe(
      'ConnectPay answered initiatePayment with a malformed body: paymentOrderNo is missing.',
    );
    await admin(world.sims, 'DELETE', '/connectpay-mtls/faults');

    await admin(world.sims, 'PUT', '/connectpay-mtls/faults', {
      route: 'GET /ob/accounts',
      settings: { malformedRate: 1 },
    });
    await expect(connectpay.listAccounts()).rejects.toMatchObject({
      code: 'PROVIDER_PROTOCOL_ERROR',
      outcomeUnknown: false,
      message: 'ConnectPay answered accounts with a malformed body: the body is not JSON.',
    });
    await admin(world.sims, 'DELETE', '/connectpay-mtls/faults');

    const resumed = await connectpay.createPayout(instruction);
    const ledger = (
      await admin<Array<{ externalReference: string; paymentOrderNo: string }>>(world.sims, 'GET', '/connectpay/ledger')
    ).body.filter((p) => p.externalReference === instruction.externalId);
    expect(ledger).toHaveLength(1);
    expect(resumed.providerReference).toBe(ledger[0].paymentOrderNo);

    await admin(world.sims, 'PUT', '/connectpay-mtls/faults', {
      route: 'GET /ob/payments/:no/status',
      settings: { malformedRate: 1, malformedBody: '{"transactionStatus":null}' },
    });
    await expect(
      connectpay.getPayout({ externalId: instruction.externalId, providerReference: resumed.providerReference }),
    ).rejects.toMatchObject({
      code: 'PROVIDER_PROTOCOL_ERROR',
      outcomeUnknown: false,
      message:
        'ConnectPay answered paymentStatus with a malformed body: transactionStatus should be a string, not null.',
    });
    // The same lookup ending a create (payment initiated and authorised): the outcome is unknown, not failed.
    const another = { ...instruction, externalId: `${instruction.externalId}-2` };
    await expect(connectpay.createPayout(another)).rejects.toMatchObject({
      code: 'PROVIDER_PROTOCOL_ERROR',
      outcomeUnknown: true,
    });
    await admin(world.sims, 'PUT', '/connectpay-mtls/faults', {
      route: 'GET /ob/payments/:no/status',
      settings: { errorRate: 1 },
    });
    await expect(
      connectpay.createPayout({ ...instruction, externalId: `${instruction.externalId}-3` }),
    ).rejects.toMatchObject({ code: 'PROVIDER_UNAVAILABLE', outcomeUnknown: true });
    await admin(world.sims, 'DELETE', '/connectpay-mtls/faults');
    const ledger2 = (
      await admin<Array<{ externalReference: string; status: string }>>(world.sims, 'GET', '/connectpay/ledger')
    ).body.filter((p) => p.externalReference.startsWith(`${instruction.externalId}-`));
    expect(ledger2).toHaveLength(2); // both were initiated: marking them failed would have invited a second payment
    await new Promise((resolve) => setTimeout(resolve, 250));
  });

  it('signs a Merchant API v2 request with X-Signature on the one-way host', async () => {
    const payment = await connectpay.createMerchantPayment({ amount: '15.00', currency: 'EUR' }, 'order 15');
    expect(payment).toMatchObject({ status: 'CREATED' });
  });

  it('verifies a webhook by its secret token, in constant time, and refuses a wrong one', async () => {
    const { secret } = (await world.vault.activeMaterial('connectpay', 'simulator', 'webhook_secret'))!;
    const rawBody = Buffer.from(
      JSON.stringify({ paymentOrderNo: 's-1', externalReference: 'po-1', transactionStatus: 'ACSC' }),
    );
    expect(
      await connectpay.verifyWebhook({
        headers: { 'x-secret-token': secret.secretToken, 'x-connectpay-timestamp': '2026-11-24T06:00:00Z' },
        rawBody,
      }),
    ).toMatchObject({ providerReference: 's-1', externalId: 'po-1' });
    expect(
      await connectpay.verifyWebhook({
        headers: { 'x-secret-token': secret.secretToken.replace(/.$/, 'x') },
        rawBody,
      }),
    ).toBeNull();
    expect(await connectpay.verifyWebhook({ headers: {}, rawBody })).toBeNull();
  });

  it('uses a rotated client certificate on the next call, without a restart', async () => {
    await connectpay.listAccounts();
    const before = (await admin<Record<string, { lastClientSerial?: string }>>(world.sims, 'GET', '/counters')).body[
      'connectpay-mtls'
    ].lastClientSerial;
    const chain = (
      await admin<{ chainPem: string; privateKeyPem: string; serialNumber: string }>(
        world.sims,
        'POST',
        '/connectpay/chains',
        { commonName: 'rotated.example.com', register: true },
      )
    ).body;
    await world.t.app
      .get(ConnectPayOnboarding)
      .storeCertificate(
        { environment: 'simulator', chainPem: chain.chainPem, privateKeyPem: chain.privateKeyPem },
        { keyId: null, name: 'test' },
      );
    await connectpay.listAccounts();
    const after = (await admin<Record<string, { lastClientSerial?: string }>>(world.sims, 'GET', '/counters')).body[
      'connectpay-mtls'
    ].lastClientSerial;
    expect(after).not.toBe(before);
    expect(after?.replace(/^0+/, '')).toBe(chain.serialNumber.toLowerCase().replace(/^0+/, ''));
  });

  it('refuses an expired client certificate before any byte is sent', async () => {
    const active = (await world.vault.activeMaterial('connectpay', 'simulator', 'mtls_client_certificate'))!;
    await world.t.dataSource.query(`UPDATE credentials SET not_after = now() - interval '1 minute' WHERE id = $1`, [
      active.credential.id,
    ]);
    await world.t.app.get(CredentialExpiryJob).run(); // marks it expired and tells the HTTP client
    await admin(world.sims, 'POST', '/counters/reset');
    await expect(connectpay.getPayout({ externalId: 'x', providerReference: 's-1' })).rejects.toMatchObject({
      code: 'CREDENTIAL_EXPIRED',
    });
    const counters = (
      await admin<Record<string, { requests: number; handshakes: number }>>(world.sims, 'GET', '/counters')
    ).body;
    expect(counters['connectpay-mtls']).toMatchObject({ requests: 0 });
  });
});
