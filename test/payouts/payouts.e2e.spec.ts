import { Environment } from '../../src/config/environment';
import { createHmac, randomUUID } from 'node:crypto';
import { Receiver } from '../support/receiver';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { PayoutsService } from '../../src/payouts/payouts.service';
import { VerestroCallbackServer } from '../../src/providers/verestro/verestro-callbacks.server';
import * as pki from '../support/pki';
import { call } from '../support/sim-client';
import { d24Control } from '../../src/providers/d24/d24.signature';
import { admin, eventually } from '../support/sim-client';
import type { ProviderWorld } from '../support/provider-world';
import { startProviderWorld } from '../support/provider-world';
import { bearer } from '../support/test-app';
import { brazilianAccount, brazilianBankAccount } from '../support/beneficiaries';

function opensslCsr(): { csrPem: string; keyPem: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'pbt-cb-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-new',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        path.join(dir, 'k.pem'),
        '-out',
        path.join(dir, 'c.csr'),
        '-subj',
        '/CN=Verestro Callbacks Test',
      ],
      { stdio: 'ignore' },
    );
    return {
      csrPem: readFileSync(path.join(dir, 'c.csr'), 'utf8'),
      keyPem: readFileSync(path.join(dir, 'k.pem'), 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const d24Beneficiary = brazilianAccount();
const ibanBeneficiary = { type: 'iban', name: 'Erika Mustermann', iban: 'DE89370400440532013000', bic: 'COBADEFFXXX' };
const cardBeneficiary = { type: 'card', cardToken: 'tok_visa_4242' };

describe('payouts over the three providers (REST → simulators over real TLS → webhooks)', () => {
  let world: ProviderWorld;

  beforeAll(async () => {
    // The event receiver below listens on 127.0.0.1, which the destination policy refuses unless listed.
    world = await startProviderWorld({ EVENTS_ALLOWED_DESTINATIONS: '127.0.0.0/8' }, 11);
    const { code } = (await admin<{ code: string }>(world.sims, 'POST', '/connectpay/auth-codes')).body;
    const authorized = await world.t.http
      .post('/v1/credentials/connectpay/oauth/authorize')
      .set(bearer(world.t.adminKey))
      .send({ environment: 'simulator', authCode: code });
    expect(authorized.status).toBe(201);
  });
  afterAll(() => world.close());

  const post = (body: Record<string, unknown>, key: string = randomUUID()) =>
    world.t.http.post('/v1/payouts').set(bearer(world.t.adminKey)).set('Idempotency-Key', key).send(body);
  const get = async (id: string) => (await world.t.http.get(`/v1/payouts/${id}`).set(bearer(world.t.adminKey))).body;
  /**
   * Runs `test` with the reconciler's own polls pushed minutes away (RECONCILE_INTERVAL_MS is read
   * at each scheduling), so only the provider's notifications, and the follow-up checks they ask
   * for, move the payouts it creates. A test that says "completed through the notification" must
   * not pass or fail on which got there first: on a busy machine a poll (every 200 ms here) can
   * read the final status before the notification lands, and a notification for a final payout
   * records nothing. Set before the payout is created, so no poll is ever scheduled soon for it.
   */
  const notificationsOnly = async (test: () => Promise<void>) => {
    const environment = world.t.app.get(Environment);
    const interval = environment.RECONCILE_INTERVAL_MS;
    environment.RECONCILE_INTERVAL_MS = 3_600_000;
    try {
      await test();
    } finally {
      environment.RECONCILE_INTERVAL_MS = interval;
    }
  };
  const countPayouts = async () =>
    (await world.t.dataSource.query('SELECT count(*)::int AS n FROM payouts'))[0].n as number;

  const d24Payout = (overrides: Record<string, unknown> = {}) => ({
    provider: 'd24',
    environment: 'simulator',
    amount: '150.75',
    currency: 'BRL',
    beneficiary: d24Beneficiary,
    reference: 'invoice-1',
    ...overrides,
  });

  it('D24: created, then completed through the signed notification (status fetched, not trusted)', () =>
    notificationsOnly(async () => {
      const created = await post(d24Payout());
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({
        provider: 'd24',
        status: 'pending',
        amount: { amount: '150.75', currency: 'BRL' },
        beneficiary: { bankAccount: '…6789' },
      });
      const done = await eventually(
        () => get(created.body.id),
        (p) => p.status === 'completed',
      );
      expect(done.providerStatus).toBe('COMPLETED');
      const deliveries = await world.t.dataSource.query(`SELECT outcome FROM webhook_deliveries WHERE payout_id = $1`, [
        created.body.id,
      ]);
      expect(deliveries.length).toBeGreaterThanOrEqual(1);
      const events = (await world.t.http.get(`/v1/payouts/${created.body.id}/events`).set(bearer(world.t.adminKey)))
        .body;
      expect(events.map((e: { type: string }) => e.type)).toContain('transition');
      expect(JSON.stringify(events)).not.toContain('123456789');
      const ledger = (await admin<Array<{ externalId: string }>>(world.sims, 'GET', '/d24/ledger')).body.filter(
        (e) => e.externalId === created.body.id,
      );
      expect(ledger).toHaveLength(1);
    }));

  it('D24: created held (holdOnCreate): D24 gets on_hold at creation and pays nothing until released', async () => {
    const held = await post(d24Payout({ holdOnCreate: true }));
    expect(held.status).toBe(201);
    expect(held.body).toMatchObject({ status: 'on_hold', providerStatus: 'ON_HOLD' });
    const ledger = async () =>
      (await admin<Array<{ externalId: string; status: string }>>(world.sims, 'GET', '/d24/ledger')).body.filter(
        (entry) => entry.externalId === held.body.id,
      );
    expect(await ledger()).toEqual([expect.objectContaining({ status: 'ON_HOLD' })]);
    // Still held well after the simulator would have completed an ordinary cashout.
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect((await get(held.body.id)).status).toBe('on_hold');
    expect((await ledger())[0].status).toBe('ON_HOLD');
    const released = await world.t.http.post(`/v1/payouts/${held.body.id}/release`).set(bearer(world.t.adminKey));
    expect(released.body.status).toBe('pending');
    await eventually(
      () => get(held.body.id),
      (payout) => payout.status === 'completed',
    );
    expect(await ledger()).toHaveLength(1);
  });

  it('D24: a held create that D24 created PENDING is read back and put on hold before it can be paid', async () => {
    await admin(world.sims, 'PATCH', '/d24/settings', { ignoreOnHoldAtCreate: true });
    try {
      const held = await post(d24Payout({ holdOnCreate: true }));
      expect(held.status).toBe(201);
      expect(held.body).toMatchObject({ status: 'on_hold', providerStatus: 'ON_HOLD' });
      const ledger = (await admin<Array<{ externalId: string; status: string }>>(world.sims, 'GET', '/d24/ledger'))
        .body;
      expect(ledger.filter((entry) => entry.externalId === held.body.id)).toEqual([
        expect.objectContaining({ status: 'ON_HOLD' }),
      ]);
    } finally {
      await admin(world.sims, 'PATCH', '/d24/settings', { ignoreOnHoldAtCreate: false });
    }
  });

  it('holdOnCreate where the provider cannot hold: 409 CAPABILITY_NOT_SUPPORTED and nothing stored', async () => {
    const before = await countPayouts();
    const refused = await post({
      provider: 'verestro',
      environment: 'simulator',
      amount: '19.99',
      currency: 'EUR',
      beneficiary: cardBeneficiary,
      holdOnCreate: true,
    });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({
      code: 'CAPABILITY_NOT_SUPPORTED',
      details: { provider: 'verestro', capability: 'payouts.hold' },
    });
    expect(await countPayouts()).toBe(before);
  });

  it('D24: hold, release and cancel while pending; a rejection carries its code', async () => {
    await admin(world.sims, 'PATCH', '/d24/settings', { timeline: { deliverAfterMs: 5_000 } });
    try {
      const { body } = await post(d24Payout());
      expect((await world.t.http.post(`/v1/payouts/${body.id}/hold`).set(bearer(world.t.adminKey))).body.status).toBe(
        'on_hold',
      );
      expect(
        (await world.t.http.post(`/v1/payouts/${body.id}/release`).set(bearer(world.t.adminKey))).body.status,
      ).toBe('pending');
      expect((await world.t.http.post(`/v1/payouts/${body.id}/cancel`).set(bearer(world.t.adminKey))).body.status).toBe(
        'cancelled',
      );
      const again = await world.t.http.post(`/v1/payouts/${body.id}/cancel`).set(bearer(world.t.adminKey));
      expect([again.status, again.body.error.code]).toEqual([409, 'PAYOUT_FINAL']);
    } finally {
      await admin(world.sims, 'PATCH', '/d24/settings', { timeline: { deliverAfterMs: 150 } });
    }
    const rejected = await post(d24Payout({ beneficiary: { ...d24Beneficiary, bankAccount: '0000000000' } }));
    const final = await eventually(
      () => get(rejected.body.id),
      (p) => p.status === 'rejected',
    );
    expect(final.failure).toEqual({
      code: 'ACCOUNT_INCORRECT',
      reason:
        'The bank rejected it: the bank account details are wrong (D24 800 ERROR_ACCOUNT_INCORRECT). Check bank_account, bank_branch and account_type with the beneficiary, then send a new payout.',
    });
  });

  it("D24: a refusal at creation fails the payout with D24's code named, a stable reason and what to fix", async () => {
    const refused = await post(d24Payout({ beneficiary: { ...d24Beneficiary, bankCode: 9999 } }));
    expect(refused.status).toBe(201);
    const failure = {
      code: 'BANK_CODE_UNKNOWN',
      reason:
        "D24 does not know this bank code (303 Invalid bank code). Take bank_code from GET /v1/providers/d24/banks?country= for the beneficiary's country.",
    };
    expect(refused.body).toMatchObject({ status: 'failed', failure });
    // What the create answered is what is stored, to the millisecond.
    expect(await get(refused.body.id)).toEqual(refused.body);
    const history: Array<{ type: string; detail: Record<string, unknown> }> = (
      await world.t.http.get(`/v1/payouts/${refused.body.id}/events`).set(bearer(world.t.adminKey))
    ).body;
    expect(history.find((event) => event.type === 'transition')?.detail).toMatchObject({
      code: 'PAYOUT_REJECTED',
      reason: 'BANK_CODE_UNKNOWN',
      providerCode: '303',
    });
  });

  it('D24: a completed payout reversed by the bank becomes rejected (the one documented way back)', async () => {
    const created = await post(d24Payout({ beneficiary: { ...d24Beneficiary, bankAccount: '9999999999' } }));
    await eventually(
      () => get(created.body.id),
      (p) => p.status === 'completed',
    );
    const reversed = await eventually(
      () => get(created.body.id),
      (p) => p.status === 'rejected',
    );
    expect(reversed.failure.code).toBe('PAYOUT_REVERSED');
  });

  it('ConnectPay: created over mTLS + OAuth, completed through the token-authenticated webhook; cancel is not supported (409)', () =>
    notificationsOnly(async () => {
      const created = await post({
        provider: 'connectpay',
        environment: 'simulator',
        amount: '42.10',
        currency: 'EUR',
        beneficiary: ibanBeneficiary,
      });
      expect(created.status).toBe(201);
      expect(created.body.providerReference).toMatch(/^s-/);
      await eventually(
        () => get(created.body.id),
        (p) => p.status === 'completed',
      );
      const unsupported = await world.t.http
        .post(`/v1/payouts/${created.body.id}/cancel`)
        .set(bearer(world.t.adminKey));
      expect([unsupported.status, unsupported.body.error.code, unsupported.body.error.details]).toEqual([
        409,
        'CAPABILITY_NOT_SUPPORTED',
        { provider: 'connectpay', capability: 'payouts.cancel' },
      ]);
      const synced = await world.t.http.post(`/v1/payouts/${created.body.id}/sync`).set(bearer(world.t.adminKey));
      expect(synced.body.status).toBe('completed');
      const hooks = await world.t.dataSource.query(
        `SELECT count(*)::int AS n FROM webhook_deliveries WHERE provider = 'connectpay' AND payout_id = $1`,
        [created.body.id],
      );
      expect(hooks[0].n).toBeGreaterThanOrEqual(1);
    }));

  it('Verestro: a card payout completes through the callback over reverse mTLS (X-Idempotency-Key honoured)', () =>
    notificationsOnly(async () => {
      const created = await post({
        provider: 'verestro',
        environment: 'simulator',
        amount: '19.99',
        currency: 'EUR',
        beneficiary: cardBeneficiary,
      });
      expect(created.body).toMatchObject({ status: 'pending', beneficiary: { cardToken: '…4242' } });
      await eventually(
        () => get(created.body.id),
        (p) => p.status === 'completed',
      );
      const callbacks: Array<{ delivery_id: string }> = await eventually(
        () =>
          world.t.dataSource.query(
            `SELECT delivery_id, outcome FROM webhook_deliveries WHERE provider = 'verestro' AND payout_id = $1`,
            [created.body.id],
          ),
        (rows: unknown[]) => rows.length >= 1,
      );
      expect(callbacks[0].delivery_id).toMatch(/^simulator:[0-9a-f-]{36}$/);
      expect(
        (await world.t.http.post(`/v1/payouts/${created.body.id}/sync`).set(bearer(world.t.adminKey))).body.status,
      ).toBe('completed');
    }));

  it('Verestro callbacks: a client without our certificate is refused at the TLS layer; a repeat is recorded once', async () => {
    const url = world.t.app.get(VerestroCallbackServer).url!;
    const { selfSigned: makeSelfSigned } = pki;
    const stranger = await makeSelfSigned({ subject: 'CN=stranger' });
    const ca = (await world.vault.activeMaterial('verestro', 'simulator', 'callback_ca'))!.credential.certificatePem!;
    await expect(call({ method: 'POST', url, body: '{}', ca })).rejects.toThrow();
    await expect(
      call({ method: 'POST', url, body: '{}', ca, cert: stranger.pem, key: stranger.privateKeyPem }),
    ).rejects.toThrow();

    // Our CA signs a CSR (as for Verestro's), and that certificate gets in, twice with one key.
    const { csrPem, keyPem } = opensslCsr();
    const signed = await world.t.http
      .post('/v1/credentials/verestro/callback-certificate')
      .set(bearer(world.t.adminKey))
      .send({ environment: 'simulator', csrPem });
    expect(signed.status).toBe(201);
    const created = await post({
      provider: 'verestro',
      environment: 'simulator',
      amount: '2.00',
      currency: 'EUR',
      beneficiary: cardBeneficiary,
    });
    const key = randomUUID();
    const body = JSON.stringify({
      event: 'PAYOUT_STATUS_CHANGED',
      orderId: created.body.providerReference,
      externalId: created.body.id,
      status: 'COMPLETED',
    });
    for (let i = 0; i < 2; i++) {
      const response = await call({
        method: 'POST',
        url,
        body,
        ca,
        cert: signed.body.certificatePem,
        key: keyPem,
        headers: { 'Content-Type': 'application/json', 'X-Idempotency-Key': key },
      });
      expect([response.status, response.json()]).toEqual([200, { status: 'received' }]);
    }
    const rows = await world.t.dataSource.query(
      `SELECT count(*)::int AS n FROM webhook_deliveries WHERE delivery_id = $1`,
      [`simulator:${key}`],
    );
    expect(rows[0].n).toBe(1);
  });

  it('same key + same body → the same answer; same key + another body → 422 IDEMPOTENCY_KEY_REUSED', async () => {
    const key = randomUUID();
    const first = await post(d24Payout(), key);
    const second = await post(d24Payout(), key);
    expect([second.status, second.body]).toEqual([first.status, first.body]);
    const other = await post(d24Payout({ amount: '1.00' }), key);
    expect([other.status, other.body.error.code]).toEqual([422, 'IDEMPOTENCY_KEY_REUSED']);
  });

  it('200 concurrent requests with one key → one payout and one provider call', async () => {
    const key = randomUUID();
    const before = (await admin<unknown[]>(world.sims, 'GET', '/d24/ledger')).body.length;
    const responses = await Promise.all(
      Array.from({ length: 200 }, () =>
        fetch(`${world.baseUrl}/v1/payouts`, {
          method: 'POST',
          headers: { ...bearer(world.t.adminKey), 'Idempotency-Key': key, 'Content-Type': 'application/json' },
          body: JSON.stringify(d24Payout({ reference: 'concurrent' })),
        }).then(async (r) => ({ status: r.status, body: (await r.json()) as { id: string } })),
      ),
    );
    expect(new Set(responses.map((r) => r.status))).toEqual(new Set([201]));
    expect(new Set(responses.map((r) => r.body.id)).size).toBe(1);
    const after = (await admin<unknown[]>(world.sims, 'GET', '/d24/ledger')).body.length;
    expect(after - before).toBe(1);
    expect(
      (await world.t.dataSource.query(`SELECT count(*)::int AS n FROM payouts WHERE reference = 'concurrent'`))[0].n,
    ).toBe(1);
  });

  it.each([
    ['a number amount', { amount: 10.5 }, 'amount'],
    ['a negative amount', { amount: '-1.00' }, 'amount'],
    ['too many decimals for the currency', { amount: '10.5', currency: 'JPY' }, 'amount'],
    ['an unknown currency', { currency: 'XYZ' }, 'currency'],
    ['another rail', { beneficiary: ibanBeneficiary }, 'beneficiary.type'],
    [
      'a beneficiary missing fields',
      { beneficiary: { type: 'latam_bank_account', country: 'BR' } },
      'beneficiary.name',
    ],
    ['an environment of another provider', { environment: 'stage' }, 'environment'],
    ['an unknown field', { surprise: true }, 'surprise'],
  ])('refuses %s with 400 and field details, writing nothing', async (_case, overrides, field) => {
    const before = await countPayouts();
    const response = await post(d24Payout(overrides));
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('VALIDATION_FAILED');
    expect(response.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
    expect(await countPayouts()).toBe(before);
  });

  it('requires an Idempotency-Key', async () => {
    const response = await world.t.http.post('/v1/payouts').set(bearer(world.t.adminKey)).send(d24Payout());
    expect(response.body.error.details[0]).toMatchObject({ field: 'Idempotency-Key', code: 'REQUIRED' });
  });

  it("refuses a batch row's Idempotency-Key: a payout planted under it would be taken for the row's", async () => {
    const before = await countPayouts();
    const response = await world.t.http
      .post('/v1/payouts')
      .set(bearer(world.t.adminKey))
      .set('Idempotency-Key', `batch:${randomUUID()}:1`)
      .send(d24Payout());
    expect(response.status).toBe(400);
    expect(response.body.error.details[0]).toMatchObject({ field: 'Idempotency-Key', code: 'RESERVED' });
    expect(await countPayouts()).toBe(before);
  });

  it('refuses forged notifications (401, nothing changes) and never moves a payout backwards', async () => {
    const created = await post(d24Payout());
    // Read before its notifications complete it: a decision taken from this read is out of date.
    const readEarly = await world.t.app.get(PayoutsService).get(created.body.id);
    const done = await eventually(
      () => get(created.body.id),
      (p) => p.status === 'completed',
    );
    const forged = await world.t.http
      .post('/v1/webhooks/d24')
      .type('form')
      .send({ external_id: created.body.id, cashout_id: '1', control: 'A'.repeat(64), date: '2026-11-24 00:00:00' });
    expect(forged.status).toBe(401);
    expect(forged.body.error).toEqual({
      code: 'UNAUTHENTICATED',
      message: 'The notification could not be verified.',
      details: null,
    });
    const token = await world.t.http
      .post('/v1/webhooks/connectpay')
      .set('X-Secret-Token', 'wrong')
      .send({ paymentOrderNo: 's-1' });
    expect(token.status).toBe(401);

    // A late report of an earlier status is recorded as stale, not applied: decided from the early
    // read ('pending', the same status: no change), the one-statement commit finds the row moved
    // on and writes nothing; decided again under the row lock, it is stale.
    expect(readEarly.status).toBe('pending');
    const historyBefore = (
      await world.t.http.get(`/v1/payouts/${created.body.id}/events`).set(bearer(world.t.adminKey))
    ).body as Array<{ type: string }>;
    const late = await world.t.app
      .get(PayoutsService)
      .applyProviderResult(readEarly, { state: 'pending', providerStatus: 'PENDING' }, { source: 'test' });
    expect(late.status).toBe('completed');
    const after = await get(created.body.id);
    expect(after).toMatchObject({ status: done.status, providerStatus: done.providerStatus });
    const events = (await world.t.http.get(`/v1/payouts/${created.body.id}/events`).set(bearer(world.t.adminKey))).body;
    expect(events.map((e: { type: string }) => e.type)).toEqual([...historyBefore.map((e) => e.type), 'stale_update']);
  });

  it('tells a caller once when the provider has answered a create (a batch frees its slot then), and not for a replay', async () => {
    const payouts = world.t.app.get(PayoutsService);
    const [{ id: apiKeyId }] = await world.t.dataSource.query<Array<{ id: string }>>(
      'SELECT id FROM api_keys ORDER BY created_at LIMIT 1',
    );
    const idempotency = { apiKeyId, key: randomUUID() };
    const input = {
      provider: 'd24' as const,
      environment: 'simulator' as const,
      amount: { amount: '10.00', currency: 'BRL' },
      beneficiary: brazilianBankAccount(),
    };
    const answered: string[] = [];
    const first = await payouts.create(input, idempotency, { onProviderAnswered: () => answered.push('first') });
    expect(first.outcome).toBe('created');
    expect(answered).toEqual(['first']);
    const ledger = (await admin<Array<{ externalId: string }>>(world.sims, 'GET', '/d24/ledger')).body;
    const payoutId = first.outcome === 'created' ? first.payout.id : '';
    expect(ledger.filter((entry) => entry.externalId === payoutId)).toHaveLength(1);
    const again = await payouts.create(input, idempotency, { onProviderAnswered: () => answered.push('again') });
    expect(again.outcome).toBe('replayed');
    expect(answered).toEqual(['first']);
  });

  it('replayed and reordered notifications (duplicated, shuffled by the simulator) end in the right final states', async () => {
    await admin(world.sims, 'PATCH', '/d24/settings', { notifications: { duplicate: true, reorderWindowMs: 300 } });
    try {
      const created = await Promise.all(
        ['123456789', '0000000000', '123456780'].map((account) =>
          post(d24Payout({ beneficiary: { ...d24Beneficiary, bankAccount: account } })),
        ),
      );
      const finals = await Promise.all(
        created.map((c) =>
          eventually(
            () => get(c.body.id),
            (p) => ['completed', 'rejected'].includes(p.status),
            10_000,
          ),
        ),
      );
      expect(finals.map((p) => p.status)).toEqual(['completed', 'rejected', 'completed']);
      const duplicates = await world.t.dataSource.query(
        `SELECT count(*)::int AS n FROM webhook_deliveries WHERE payout_id = ANY($1)`,
        [created.map((c) => c.body.id)],
      );
      expect(duplicates[0].n).toBeGreaterThanOrEqual(3);
      const stale = await world.t.dataSource.query(
        `SELECT type FROM payout_events WHERE payout_id = ANY($1) AND type = 'illegal_update'`,
        [created.map((c) => c.body.id)],
      );
      expect(stale).toEqual([]);
    } finally {
      await admin(world.sims, 'PATCH', '/d24/settings', { notifications: { duplicate: false, reorderWindowMs: 0 } });
    }
  });

  it('a D24 notification replayed with fresh unsigned fields costs at most one status fetch and changes nothing', async () => {
    const created = await post(d24Payout());
    await eventually(
      () => get(created.body.id),
      (p) => p.status === 'completed',
    );
    const environment = world.t.app.get(Environment);
    environment.WEBHOOK_FETCH_INTERVAL_MS = 60_000;
    try {
      const { secret } = (await world.vault.activeMaterial('d24', 'simulator', 'api_keys'))!;
      const control = d24Control(secret.apiSignature, created.body.id, 'Be4', 'Bo7');
      const d24Requests = async () =>
        (await admin<Record<string, { requests: number }>>(world.sims, 'GET', '/counters')).body.d24.requests;
      const before = await d24Requests();
      const outcomes: string[] = [];
      for (let i = 0; i < 5; i++) {
        // The control covers external_id only: date and status_reason change freely in a replay.
        const form = {
          external_id: created.body.id,
          cashout_id: '1',
          control,
          date: `2026-11-24 06:00:0${i}`,
          bank_reference_id: '',
          comments: '',
          status_reason: `replay ${i}`,
        };
        const response = await world.t.http.post('/v1/webhooks/d24').type('form').send(form);
        expect(response.status).toBe(200);
        outcomes.push(response.body.outcome);
      }
      expect(outcomes.slice(1)).toEqual(['deferred', 'deferred', 'deferred', 'deferred']);
      expect((await d24Requests()) - before).toBeLessThanOrEqual(1);
      const payout = await get(created.body.id);
      expect(payout.status).toBe('completed');
      expect(payout.providerReference).toBe(created.body.providerReference);
      // The deferred ones left one follow-up check, due at the end of the fetch slot.
      const [slot] = await world.t.dataSource.query(
        `SELECT next_check_at <= webhook_fetch_at + interval '60 seconds' AS due_by_slot_end FROM payouts WHERE id = $1`,
        [created.body.id],
      );
      expect(slot.due_by_slot_end).toBe(true);

      // Notifications at the same moment take turns on the slot: exactly one fetches.
      await world.t.dataSource.query('UPDATE payouts SET webhook_fetch_at = NULL WHERE id = $1', [created.body.id]);
      const form = { external_id: created.body.id, cashout_id: '1', control, date: '2026-11-24 06:01:00' };
      const together = await Promise.all(
        [1, 2, 3, 4].map(() => world.t.http.post('/v1/webhooks/d24').type('form').send(form)),
      );
      const outcomesTogether = together.map((response) => response.body.outcome as string).sort();
      expect(outcomesTogether).toEqual(['applied', 'deferred', 'deferred', 'deferred']);
    } finally {
      environment.WEBHOOK_FETCH_INTERVAL_MS = 50;
    }
  });

  it('announces payout.status_changed to subscribers, HMAC-signed, retried until accepted', async () => {
    const receiver = new Receiver();
    const url = await receiver.start();
    try {
      receiver.answers.push({ status: 503, body: 'busy' });
      const subscription = await world.t.http
        .post('/v1/event-subscriptions')
        .set(bearer(world.t.adminKey))
        .send({ url: `${url}/events` });
      expect(subscription.status).toBe(201);
      expect(subscription.body.secret).toMatch(/^whsec_/);
      const created = await post(d24Payout());
      await eventually(
        () => get(created.body.id),
        (p) => p.status === 'completed',
      );
      const events = await eventually(
        () =>
          receiver.received
            .filter((r) => r.body.includes(created.body.id))
            .map((r) => ({ ...r, json: JSON.parse(r.body) as { type: string; data: { to: string } } })),
        (list) => list.some((e) => e.json.data.to === 'completed'),
        10_000,
      );
      for (const delivery of events) {
        expect(delivery.json.type).toBe('payout.status_changed');
        const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(delivery.headers['x-payments-signature']))!;
        expect(v1).toBe(createHmac('sha256', subscription.body.secret).update(`${t}.${delivery.body}`).digest('hex'));
      }
      const tos = new Set(events.map((e) => e.json.data.to));
      expect(tos.has('completed')).toBe(true);
      const list = await world.t.http.get('/v1/event-subscriptions').set(bearer(world.t.adminKey));
      expect(JSON.stringify(list.body)).not.toContain(subscription.body.secret);
      expect(
        (await world.t.http.delete(`/v1/event-subscriptions/${subscription.body.id}`).set(bearer(world.t.adminKey)))
          .status,
      ).toBe(204);
    } finally {
      await receiver.stop();
    }
  });

  it('lists with filters and cursor pagination', async () => {
    const page1 = await world.t.http.get('/v1/payouts?provider=d24&limit=2').set(bearer(world.t.adminKey));
    expect(page1.body.items).toHaveLength(2);
    const page2 = await world.t.http
      .get(`/v1/payouts?provider=d24&limit=2&cursor=${page1.body.nextCursor}`)
      .set(bearer(world.t.adminKey));
    expect(page2.body.items.map((p: { id: string }) => p.id)).not.toContain(page1.body.items[0].id);
    const bad = await world.t.http.get('/v1/payouts?cursor=garbage').set(bearer(world.t.adminKey));
    expect(bad.status).toBe(400);
  });

  it('shows accounts across providers with capabilities; D24 says it has no balance API', async () => {
    const accounts = (await world.t.http.get('/v1/accounts').set(bearer(world.t.adminKey))).body as Array<{
      id: string;
      provider: string;
      balance: unknown;
    }>;
    expect(accounts.find((a) => a.id === 'connectpay.simulator.acc-eur-main')).toMatchObject({
      balance: { currency: 'EUR' },
    });
    const d24 = accounts.find((a) => a.provider === 'd24')!;
    const balance = await world.t.http.get(`/v1/accounts/${d24.id}/balance`).set(bearer(world.t.adminKey));
    expect([balance.status, balance.body.error.code, balance.body.error.details]).toEqual([
      409,
      'CAPABILITY_NOT_SUPPORTED',
      { provider: 'd24', capability: 'accounts.balance' },
    ]);
    const transactions = await world.t.http
      .get('/v1/accounts/connectpay.simulator.acc-eur-main/transactions')
      .set(bearer(world.t.adminKey));
    expect(transactions.status).toBe(200);
    expect(transactions.body.length).toBeGreaterThan(0);
  });
});
