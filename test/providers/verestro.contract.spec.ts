import { ProviderError } from '../../src/providers/provider.port';
import type { VerestroProvider } from '../../src/providers/verestro/verestro.provider';
import { admin, eventually } from '../support/sim-client';
import type { ProviderWorld } from '../support/provider-world';
import { startProviderWorld } from '../support/provider-world';
import { VerestroOnboarding } from '../../src/providers/verestro/verestro.onboarding';

describe('Verestro client against the simulator (real mTLS + Basic)', () => {
  let world: ProviderWorld;
  let verestro: VerestroProvider;

  beforeAll(async () => {
    world = await startProviderWorld({ PROVIDER_CIRCUIT_FAILURES: '50' }, 9);
    verestro = world.registry.get('verestro', 'simulator') as VerestroProvider;
  });
  afterAll(() => world.close());

  it('pays out to a card and follows the order to completed; a repeat is the same order', async () => {
    const instruction = {
      externalId: `card-${Date.now()}`,
      amount: { amount: '19.99', currency: 'EUR' },
      beneficiary: { type: 'card' as const, cardToken: 'tok_visa_1' },
    };
    const created = await verestro.createPayout(instruction);
    expect(created).toMatchObject({ state: 'pending', providerStatus: 'PENDING' });
    const done = await eventually(
      () => verestro.getPayout({ externalId: instruction.externalId, providerReference: created.providerReference }),
      (p) => p.state === 'completed',
    );
    expect(done.providerReference).toBe(created.providerReference);
    const again = await verestro.createPayout(instruction);
    expect(again.providerReference).toBe(created.providerReference);
    const ledger = (
      await admin<Array<{ externalId: string; amount: string }>>(world.sims, 'GET', '/verestro/ledger')
    ).body.filter((e) => e.externalId === instruction.externalId);
    expect(ledger).toEqual([expect.objectContaining({ amount: '19.99' })]);
  });

  it('maps a declined card to failed, and an unsupported capability to CAPABILITY_NOT_SUPPORTED', async () => {
    const created = await verestro.createPayout({
      externalId: `card-d-${Date.now()}`,
      amount: { amount: '5.00', currency: 'EUR' },
      beneficiary: { type: 'card', cardToken: 'tok_declined' },
    });
    expect(
      (
        await eventually(
          () => verestro.getPayout({ externalId: 'x', providerReference: created.providerReference }),
          (p) => p.state === 'failed',
        )
      ).providerStatus,
    ).toBe('FAILED');
    await expect(verestro.listAccounts()).rejects.toMatchObject({ code: 'CAPABILITY_NOT_SUPPORTED' });
  });

  describe('faults', () => {
    afterEach(async () => {
      await admin(world.sims, 'DELETE', '/verestro/faults');
      await new Promise((resolve) => setTimeout(resolve, 250));
    });

    it('a dropped send-money answer is retried and reconciled to the one order (Verestro deduplicates by externalId)', async () => {
      // Exactly the first answer is dropped; the retry gets through (no race with a later reset).
      await admin(world.sims, 'PUT', '/verestro/faults', {
        route: 'POST /api/v2/client/send-money',
        settings: { dropResponseRate: 1, times: 1 },
      });
      const instruction = {
        externalId: `card-drop-${Date.now()}`,
        amount: { amount: '7.00', currency: 'EUR' },
        beneficiary: { type: 'card' as const, cardToken: 'tok_visa_2' },
      };
      const created = await verestro.createPayout(instruction);
      const ledger = (
        await admin<Array<{ externalId: string; orderId: string }>>(world.sims, 'GET', '/verestro/ledger')
      ).body.filter((e) => e.externalId === instruction.externalId);
      expect(ledger).toHaveLength(1);
      expect(created.providerReference).toBe(ledger[0].orderId);
    });

    it('500 → PROVIDER_UNAVAILABLE, reset → outcome unknown, hang → PROVIDER_TIMEOUT', async () => {
      await admin(world.sims, 'PUT', '/verestro/faults', {
        route: 'GET /api/v2/client/send-money/:orderId',
        settings: { errorRate: 1 },
      });
      await expect(verestro.getPayout({ externalId: 'x', providerReference: 'o-1' })).rejects.toMatchObject({
        code: 'PROVIDER_UNAVAILABLE',
      });
      await new Promise((resolve) => setTimeout(resolve, 250));
      await admin(world.sims, 'PUT', '/verestro/faults', {
        route: 'GET /api/v2/client/send-money/:orderId',
        settings: { resetRate: 1 },
      });
      await expect(verestro.getPayout({ externalId: 'x', providerReference: 'o-1' })).rejects.toMatchObject({
        code: 'PROVIDER_UNAVAILABLE',
      });
      await new Promise((resolve) => setTimeout(resolve, 250));
      await admin(world.sims, 'PUT', '/verestro/faults', {
        route: 'GET /api/v2/client/send-money/:orderId',
        settings: { timeoutRate: 1, hangMs: 3000 },
      });
      await expect(verestro.getPayout({ externalId: 'x', providerReference: 'o-1' })).rejects.toMatchObject({
        code: 'PROVIDER_TIMEOUT',
      });
    });

    it('a malformed answer → PROVIDER_PROTOCOL_ERROR, not a TypeError; after send-money the outcome is unknown (Verestro has the order)', async () => {
      // The simulator makes the order, then answers without its id.
      await admin(world.sims, 'PUT', '/verestro/faults', {
        route: 'POST /api/v2/client/send-money',
        settings: { malformedRate: 1, malformedBody: '{"status":"PENDING"}' },
      });
      const instruction = {
        externalId: `card-bad-${Date.now()}`,
        amount: { amount: '8.00', currency: 'EUR' },
        beneficiary: { type: 'card' as const, cardToken: 'tok_visa_3' },
      };
      const error = await verestro.createPayout(instruction).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ProviderError);
      expect(error).toMatchObject({ code: 'PROVIDER_PROTOCOL_ERROR', httpStatus: 502, outcomeUnknown: true });
      expect((error as Error).message).toBe('Verestro answered send-money with a malformed body: orderId is missing.');
      const ledger = (
        await admin<Array<{ externalId: string; orderId: string }>>(world.sims, 'GET', '/verestro/ledger')
      ).body.filter((e) => e.externalId === instruction.externalId);
      expect(ledger).toHaveLength(1);

      await admin(world.sims, 'PUT', '/verestro/faults', {
        route: 'GET /api/v2/client/send-money/:orderId',
        settings: { malformedRate: 1 },
      });
      await expect(
        verestro.getPayout({ externalId: instruction.externalId, providerReference: ledger[0].orderId }),
      ).rejects.toMatchObject({
        code: 'PROVIDER_PROTOCOL_ERROR',
        outcomeUnknown: false,
        message: 'Verestro answered order-status with a malformed body: the body is not JSON.',
      });

      // Sent again, Verestro answers 409 with the order: the create resumes it, one order in all.
      await admin(world.sims, 'DELETE', '/verestro/faults');
      const resumed = await verestro.createPayout(instruction);
      expect(resumed.providerReference).toBe(ledger[0].orderId);
    });
  });

  it('uses a rotated certificate on the next call, and refuses a revoked one before any byte is sent', async () => {
    await verestro.getPayout({ externalId: 'x', providerReference: 'unknown' }).catch(() => undefined);
    const before = (await admin<Record<string, { lastClientSerial?: string }>>(world.sims, 'GET', '/counters')).body
      .verestro.lastClientSerial;
    const { credential, csrPem } = await world.t.app.get(VerestroOnboarding).createCsr(
      {
        environment: 'simulator',
        country: 'PL',
        state: 'Mazowieckie',
        locality: 'Warsaw',
        organization: 'DemoCompany',
        companyName: 'DemoCompany',
        applicationName: 'Payouts',
        email: 'ops@demo.example',
        keyBits: 2048,
      },
      { keyId: null, name: 'test' },
    );
    const signed = (
      await admin<{ certificatePem: string; caPem: string }>(world.sims, 'POST', '/verestro/csr', { csrPem })
    ).body;
    const rotated = await world.credentials.importSignedCertificate(credential.id, signed, {
      keyId: null,
      name: 'test',
    });
    await expect(verestro.getPayout({ externalId: 'x', providerReference: 'unknown' })).rejects.toMatchObject({
      code: 'PAYOUT_NOT_FOUND',
    });
    const after = (await admin<Record<string, { lastClientSerial?: string }>>(world.sims, 'GET', '/counters')).body
      .verestro.lastClientSerial;
    expect(after).not.toBe(before);
    expect(after?.replace(/^0+/, '')).toBe(rotated.certificate!.serialNumber.replace(/^0+/, ''));

    await world.vault.revoke(rotated.id, { keyId: null, name: 'test' });
    await admin(world.sims, 'POST', '/counters/reset');
    await expect(verestro.getPayout({ externalId: 'x', providerReference: 'unknown' })).rejects.toMatchObject({
      code: 'CREDENTIAL_REVOKED',
    });
    const counters = (
      await admin<Record<string, { requests: number; handshakes: number }>>(world.sims, 'GET', '/counters')
    ).body;
    expect(counters.verestro).toMatchObject({ requests: 0, handshakes: 0 });
  });
});
