import {
  D24_CONTROL_VECTORS,
  D24_PAYLOAD_SIGNATURE_VECTORS,
  D24_VECTOR_SECRET,
} from '../../src/simulators/d24/d24-vectors';
import { d24Control, signD24Payload } from '../../src/providers/d24/d24.signature';
import { cashoutBody } from '../../src/providers/d24/d24.mapper';
import type { D24Provider } from '../../src/providers/d24/d24.provider';
import type { LatamBankBeneficiary, PayoutInstruction } from '../../src/providers/provider.port';
import { ProviderError } from '../../src/providers/provider.port';
import { createServer, type Server } from 'node:net';
import { admin, eventually } from '../support/sim-client';
import type { ProviderWorld } from '../support/provider-world';
import { startProviderWorld } from '../support/provider-world';

describe('D24 signing, against fixed vectors computed with openssl', () => {
  it.each(D24_PAYLOAD_SIGNATURE_VECTORS.map((v) => [v.body, v.signature]))('signs %j', (body, signature) => {
    expect(signD24Payload(D24_VECTOR_SECRET, Buffer.from(body, 'utf8'))).toBe(signature);
  });

  it('computes the notification control', () => {
    for (const vector of D24_CONTROL_VECTORS)
      expect(d24Control(D24_VECTOR_SECRET, vector.externalId, 'Be4', 'Bo7')).toBe(vector.control);
  });

  it('writes the amount as a JSON number straight from the decimal string', () => {
    const body = cashoutBody('l', 'p', {
      externalId: 'e',
      amount: { amount: '0.29', currency: 'BRL' },
      beneficiary: { type: 'latam_bank_account', country: 'BR', name: 'A', documentId: '1' },
    });
    expect(body).toContain('"amount":0.29,');
    expect(JSON.parse(body).amount).toBe(0.29);
  });
});

describe('D24 client against the simulator (real TLS)', () => {
  let world: ProviderWorld;
  let d24: D24Provider;
  let sequence = 0;

  beforeAll(async () => {
    world = await startProviderWorld({ PROVIDER_CIRCUIT_HALF_OPEN_MS: '200', PROVIDER_CIRCUIT_FAILURES: '4' });
    d24 = world.registry.get('d24', 'simulator') as D24Provider;
  });
  afterAll(() => world.close());

  const instruction = (overrides: Partial<PayoutInstruction> = {}, account = '123456789'): PayoutInstruction => ({
    externalId: `payout-${Date.now()}-${sequence++}`,
    amount: { amount: '150.75', currency: 'BRL' },
    beneficiary: {
      type: 'latam_bank_account',
      country: 'BR',
      name: 'José',
      lastName: 'Müller',
      documentId: '84932568207',
      documentType: 'CPF',
      bankCode: 1,
      bankAccount: account,
      bankBranch: '0001',
      accountType: 'C',
    },
    notificationUrl: 'http://127.0.0.1:9/v1/webhooks/d24',
    reference: 'invoice 1',
    ...overrides,
  });

  it('creates a cashout, follows it to completed, and the simulator recorded exactly the amount sent', async () => {
    const payout = instruction();
    const created = await d24.createPayout(payout);
    expect(created).toMatchObject({ state: 'pending', providerStatus: 'PENDING' });
    const done = await eventually(
      () => d24.getPayout({ externalId: payout.externalId, providerReference: created.providerReference }),
      (p) => p.state === 'completed',
    );
    expect(done.providerStatus).toBe('COMPLETED');
    const ledger = (await admin<Array<{ externalId: string; amount: string }>>(world.sims, 'GET', '/d24/ledger')).body;
    expect(ledger.find((e) => e.externalId === payout.externalId)?.amount).toBe('150.75');
  });

  it('calls the configured URL directly even when the environment names a proxy', async () => {
    const seen: string[] = [];
    const proxy: Server = createServer((socket) => {
      // Whatever a client would ask a proxy for (a CONNECT line), recorded before hanging up.
      socket.once('data', (data) => {
        seen.push(data.toString('latin1').split('\r\n')[0]);
        socket.destroy();
      });
      socket.setTimeout(1_000, () => socket.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const names = [
      'HTTPS_PROXY',
      'https_proxy',
      'HTTP_PROXY',
      'http_proxy',
      'ALL_PROXY',
      'NO_PROXY',
      'no_proxy',
    ] as const;
    const before = names.map((name) => [name, process.env[name]] as const);
    const { port } = proxy.address() as { port: number };
    for (const name of names) {
      // No exemption for the simulator's loopback address: only `proxy: false` may keep the call direct.
      if (name.toLowerCase() === 'no_proxy') delete process.env[name];
      else process.env[name] = `http://127.0.0.1:${port}`;
    }
    try {
      const payout = instruction();
      const created = await d24.createPayout(payout);
      const status = await d24.getPayout({
        externalId: payout.externalId,
        providerReference: created.providerReference,
      });
      expect(status.providerReference).toBe(created.providerReference);
    } finally {
      for (const [name, value] of before) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      await new Promise((resolve) => proxy.close(resolve));
    }
    expect(seen).toEqual([]);
  });

  it('sends the holder’s address, city, postal code and birth date as D24 documents them, with HTTP Basic', async () => {
    const payout = instruction();
    payout.beneficiary = {
      ...(payout.beneficiary as LatamBankBeneficiary),
      address: 'Rua Augusta 1500',
      city: 'São Paulo',
      postalCode: '01305-100',
      birthdate: '1990-04-23',
    };
    await d24.createPayout(payout);
    const ledger = (
      await admin<Array<{ externalId: string; holder?: Record<string, string> }>>(world.sims, 'GET', '/d24/ledger')
    ).body;
    // The simulator checked the Basic credentials (its own parser) before it stored anything.
    expect(ledger.find((e) => e.externalId === payout.externalId)?.holder).toEqual({
      address: 'Rua Augusta 1500',
      city: 'São Paulo',
      postal_code: '01305-100',
      beneficiary_birthdate: '1990-04-23',
    });
  });

  it('reconciles a repeated create (511) to the existing cashout instead of failing', async () => {
    const payout = instruction();
    const first = await d24.createPayout(payout);
    const again = await d24.createPayout(payout);
    expect(first.providerReference).toMatch(/^\d+$/);
    // D24's status answer carries no cashout_id: the reconciled payout is found by our external id.
    expect(again).toMatchObject({ state: 'pending', providerStatus: 'PENDING' });
    const ledger = (await admin<Array<{ externalId: string }>>(world.sims, 'GET', '/d24/ledger')).body;
    expect(ledger.filter((e) => e.externalId === payout.externalId)).toHaveLength(1);
  });

  it('holds, releases and cancels; maps a bad transition and an unknown cashout', async () => {
    const payout = instruction();
    const created = await d24.createPayout(payout);
    const ref = { externalId: payout.externalId, providerReference: created.providerReference };
    expect((await d24.holdPayout(ref)).state).toBe('on_hold');
    await expect(d24.holdPayout(ref)).rejects.toMatchObject({ code: 'INVALID_TRANSITION', providerCode: '510' });
    expect((await d24.releasePayout(ref)).state).toBe('pending');
    expect((await d24.cancelPayout(ref)).state).toBe('cancelled');
    await expect(d24.getPayout({ externalId: 'never-sent' })).rejects.toMatchObject({
      code: 'PAYOUT_NOT_FOUND',
      providerCode: '509',
    });
  });

  it('maps rejection with its code, and insufficient funds', async () => {
    const rejected = instruction({}, '0000000000');
    const created = await d24.createPayout(rejected);
    const final = await eventually(
      () => d24.getPayout({ externalId: rejected.externalId, providerReference: created.providerReference }),
      (p) => p.state === 'rejected',
    );
    expect(final).toMatchObject({ rejectionCode: 'ACCOUNT_INCORRECT', providerRejectionCode: '800' });
    expect(final.rejectionReason).toContain('(D24 800 ERROR_ACCOUNT_INCORRECT)');

    await admin(world.sims, 'PATCH', '/d24/settings', { balances: { COP: '10.00' } });
    await expect(
      d24.createPayout(
        instruction({
          amount: { amount: '10.01', currency: 'COP' },
          beneficiary: { type: 'latam_bank_account', country: 'CO', name: 'A', documentId: '1', bankCode: 7 },
        }),
      ),
    ).rejects.toMatchObject({ code: 'INSUFFICIENT_FUNDS', providerCode: '514' });
  });

  it('lists banks with the read-only key', async () => {
    expect(await d24.listBanks('MX')).toContainEqual({ code: 12, name: 'BBVA México' });
  });

  it('serves the banks of a country over the API, from D24 once an hour at most', async () => {
    const banks = (query: string) =>
      world.t.http.get(`/v1/providers/d24/banks?${query}`).set('Authorization', `Bearer ${world.t.adminKey}`);
    await admin(world.sims, 'POST', '/counters/reset');
    const first = await banks('environment=simulator&country=MX');
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ environment: 'simulator', country: 'MX' });
    expect(first.body.banks).toContainEqual({ code: 12, name: 'BBVA México' });
    const again = await banks('environment=simulator&country=MX');
    expect(again.body).toEqual(first.body);
    const counters = (await admin<Record<string, { requests: number }>>(world.sims, 'GET', '/counters')).body;
    expect(counters.d24.requests).toBe(1);

    // A country D24 does not serve: its refusal is answered, and kept for a while, so asking
    // again does not call D24 again.
    const unknownCountry = await banks('environment=simulator&country=DE');
    expect([unknownCountry.status, unknownCountry.body.error.code]).toEqual([422, 'PAYOUT_REJECTED']);
    expect(unknownCountry.body.error.details).toEqual({ providerCode: '518', reason: 'COUNTRY_NOT_AVAILABLE' });
    expect(unknownCountry.body.error.message).toMatch(
      /^D24 does not pay out to this country \(518 .+\)\. Ask D24 to enable/,
    );
    const refusedAgain = await banks('environment=simulator&country=DE');
    expect(refusedAgain.body).toEqual(unknownCountry.body);
    const invalid = await banks('environment=nowhere&country=mx');
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.details.map((d: { field: string }) => d.field).sort()).toEqual([
      'country',
      'environment',
    ]);
    // Letters that are no country never reach D24.
    const notACountry = await banks('environment=simulator&country=XX');
    expect([notACountry.status, notACountry.body.error.details[0].field]).toEqual([400, 'country']);
    const afterAll = (await admin<Record<string, { requests: number }>>(world.sims, 'GET', '/counters')).body;
    expect(afterAll.d24.requests).toBe(2);
  });

  it('verifies a notification control and refuses a forged one', async () => {
    const { secret } = (await world.vault.activeMaterial('d24', 'simulator', 'api_keys'))!;
    const control = d24Control(secret.apiSignature, 'ext-9', 'Be4', 'Bo7');
    const good = await d24.verifyWebhook({
      headers: {},
      rawBody: Buffer.from(`external_id=ext-9&cashout_id=77&control=${control}&date=2026-11-24`),
    });
    // The control covers external_id only: the unsigned cashout_id is not passed on.
    expect(good).toEqual({ externalId: 'ext-9' });
    expect(
      await d24.verifyWebhook({
        headers: {},
        rawBody: Buffer.from(`external_id=ext-9&cashout_id=77&control=${control.toLowerCase()}`),
      }),
    ).toBeNull();
    expect(
      await d24.verifyWebhook({
        headers: {},
        rawBody: Buffer.from(`external_id=ext-10&cashout_id=77&control=${control}`),
      }),
    ).toBeNull();
  });

  describe('faults', () => {
    afterEach(async () => {
      await admin(world.sims, 'DELETE', '/d24/faults');
      await new Promise((resolve) => setTimeout(resolve, 250)); // let an opened circuit half-open again
    });

    it('500 → PROVIDER_UNAVAILABLE after a retry', async () => {
      await admin(world.sims, 'PUT', '/d24/faults', { route: 'POST /v3/cashout/status', settings: { errorRate: 1 } });
      await admin(world.sims, 'POST', '/counters/reset');
      await expect(d24.getPayout({ externalId: 'x' })).rejects.toMatchObject({
        code: 'PROVIDER_UNAVAILABLE',
        retryable: true,
      });
      const counters = (await admin<Record<string, { requests: number }>>(world.sims, 'GET', '/counters')).body;
      expect(counters.d24.requests).toBe(2);
    });

    it('a dropped create response is retried and reconciled: one cashout', async () => {
      await admin(world.sims, 'PUT', '/d24/faults', { route: 'POST /v3/cashout', settings: { dropResponseRate: 1 } });
      const payout = instruction();
      const pending = d24.createPayout(payout);
      // The first attempt is accepted then dropped; let the retry through.
      await eventually(
        async () =>
          (await admin<Array<{ externalId: string }>>(world.sims, 'GET', '/d24/ledger')).body.some(
            (e) => e.externalId === payout.externalId,
          ),
        Boolean,
      );
      await admin(world.sims, 'DELETE', '/d24/faults');
      const created = await pending;
      const ledger = (await admin<Array<{ externalId: string }>>(world.sims, 'GET', '/d24/ledger')).body.filter(
        (e) => e.externalId === payout.externalId,
      );
      expect(ledger).toHaveLength(1);
      expect(['pending', 'processing', 'completed']).toContain(created.state);
    });

    it('a reset → PROVIDER_UNAVAILABLE with the outcome unknown; a hang → PROVIDER_TIMEOUT', async () => {
      await admin(world.sims, 'PUT', '/d24/faults', { route: 'PUT /v3/cashout/status', settings: { resetRate: 1 } });
      const error = await d24.holdPayout({ externalId: 'x', providerReference: '1' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ProviderError);
      expect(error).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', outcomeUnknown: true });

      await admin(world.sims, 'PUT', '/d24/faults', {
        route: 'POST /v3/cashout/status',
        settings: { timeoutRate: 1, hangMs: 5000 },
      });
      await expect(d24.getPayout({ externalId: 'x' })).rejects.toMatchObject({ code: 'PROVIDER_TIMEOUT' });
    });

    it('a malformed answer → PROVIDER_PROTOCOL_ERROR, not a TypeError; after a create the outcome is unknown (D24 has the cashout)', async () => {
      // The simulator makes the cashout, then answers with its body cut in half.
      await admin(world.sims, 'PUT', '/d24/faults', { route: 'POST /v3/cashout', settings: { malformedRate: 1 } });
      await admin(world.sims, 'POST', '/counters/reset');
      const payout = instruction();
      const error = await d24.createPayout(payout).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ProviderError);
      expect(error).toMatchObject({
        code: 'PROVIDER_PROTOCOL_ERROR',
        httpStatus: 502,
        outcomeUnknown: true,
        retryable: false,
      });
      expect((error as Error).message).toBe('D24 answered create with a malformed body: the body is not JSON.');
      const counters = (await admin<Record<string, { requests: number }>>(world.sims, 'GET', '/counters')).body;
      expect(counters.d24.requests).toBe(1); // not re-sent: it is reconciled by external_id instead
      const ledger = (await admin<Array<{ externalId: string }>>(world.sims, 'GET', '/d24/ledger')).body.filter(
        (e) => e.externalId === payout.externalId,
      );
      expect(ledger).toHaveLength(1);
      // Sent again with its answers still cut: the 511 error answer has no readable code, and a 4xx to a
      // create may be that very "already exists", so the outcome stays unknown.
      await expect(d24.createPayout(payout)).rejects.toMatchObject({
        code: 'PROVIDER_PROTOCOL_ERROR',
        outcomeUnknown: true,
        message: 'D24 answered create with a malformed body: the HTTP 400 error answer has no numeric code.',
      });
      await admin(world.sims, 'DELETE', '/d24/faults');

      await admin(world.sims, 'PUT', '/d24/faults', {
        route: 'POST /v3/cashout/status',
        settings: { malformedRate: 1, malformedBody: '{"cashout_status":"COMPLETED"}' },
      });
      const read = await d24.getPayout({ externalId: payout.externalId }).catch((e: unknown) => e);
      expect(read).toMatchObject({ code: 'PROVIDER_PROTOCOL_ERROR', outcomeUnknown: false });
      expect((read as Error).message).toBe(
        'D24 answered status with a malformed body: cashout_status should be a number, not a string.',
      );
      // Sent again, the create is answered 511 and ends with that lookup: D24 has the cashout, so still unknown, not failed.
      await expect(d24.createPayout(payout)).rejects.toMatchObject({
        code: 'PROVIDER_PROTOCOL_ERROR',
        outcomeUnknown: true,
        message: expect.stringContaining('answered status'),
      });

      await admin(world.sims, 'PUT', '/d24/faults', {
        route: 'POST /v3/cashout/status',
        settings: { malformedRate: 1, malformedBody: '{"cashout_status":7}' },
      });
      await expect(d24.getPayout({ externalId: payout.externalId })).rejects.toMatchObject({
        code: 'PROVIDER_PROTOCOL_ERROR',
        message: expect.stringContaining('cashout_status 7 is not a documented D24 status'),
      });

      await admin(world.sims, 'DELETE', '/d24/faults');
      await expect(d24.getPayout({ externalId: payout.externalId })).resolves.toMatchObject({
        providerStatus: expect.any(String),
      });
    });
  });

  it('opens the circuit after repeated failures and reports it in /health/ready, then recovers', async () => {
    await admin(world.sims, 'PUT', '/d24/faults', { route: '*', settings: { errorRate: 1 } });
    for (let i = 0; i < 2; i++) await d24.getPayout({ externalId: 'x' }).catch(() => undefined);
    await expect(d24.getPayout({ externalId: 'x' })).rejects.toMatchObject({ code: 'CIRCUIT_OPEN' });
    const ready = await world.t.http.get('/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.details.providers).toMatchObject({
      status: 'up',
      degraded: true,
      circuits: { 'd24:simulator': 'open' },
    });
    await admin(world.sims, 'DELETE', '/d24/faults');
    await new Promise((resolve) => setTimeout(resolve, 250));
    await expect(d24.getPayout({ externalId: 'never-sent' })).rejects.toMatchObject({ code: 'PAYOUT_NOT_FOUND' });
    expect((await world.t.http.get('/health/ready')).body.details.providers.circuits).toEqual({
      'd24:simulator': 'closed',
    });
  });

  it('reuses pooled connections: 500 sequential calls, a handful of TLS handshakes', async () => {
    const payout = instruction();
    const created = await d24.createPayout(payout);
    await admin(world.sims, 'POST', '/counters/reset');
    for (let i = 0; i < 500; i++)
      await d24.getPayout({ externalId: payout.externalId, providerReference: created.providerReference });
    const counters = (
      await admin<Record<string, { handshakes: number; requests: number }>>(world.sims, 'GET', '/counters')
    ).body;
    expect(counters.d24.requests).toBe(500);
    expect(counters.d24.handshakes).toBeLessThanOrEqual(3);
  });

  it('logs every provider call with its timing, and never a key, passphrase or signature', async () => {
    const { secret } = (await world.vault.activeMaterial('d24', 'simulator', 'api_keys'))!;
    await d24.getPayout({ externalId: 'never-sent' }).catch(() => undefined);
    const calls = world.t.logs.parsed().filter((line) => line.msg === 'provider call');
    expect(calls.length).toBeGreaterThan(10);
    expect(calls[0]).toMatchObject({
      provider: 'd24',
      environment: 'simulator',
      durationMs: expect.any(Number),
      status: expect.any(Number),
    });
    for (const value of [secret.apiKey, secret.apiPassphrase, secret.apiSignature])
      expect(world.t.logs.text).not.toContain(value);
  });

  it('refuses to send with revoked keys, before any byte reaches D24', async () => {
    const active = (await world.vault.activeMaterial('d24', 'simulator', 'api_keys'))!;
    await world.vault.revoke(active.credential.id, { keyId: null, name: 'test' });
    await admin(world.sims, 'POST', '/counters/reset');
    await expect(d24.getPayout({ externalId: 'x' })).rejects.toMatchObject({ code: 'CREDENTIAL_REVOKED' });
    const counters = (await admin<Record<string, { requests: number }>>(world.sims, 'GET', '/counters')).body;
    expect(counters.d24.requests).toBe(0);
  });
});
