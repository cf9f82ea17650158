import { createHmac } from 'node:crypto';
import { Agent } from 'node:https';
import {
  D24_CONTROL_VECTORS,
  D24_PAYLOAD_SIGNATURE_VECTORS,
  D24_VECTOR_SECRET,
} from '../../src/simulators/d24/d24-vectors';
import { notificationControl, payloadSignature } from '../../src/simulators/d24/d24-signature';
import type { RunningSimulators } from '../../src/simulators/simulators';
import { Receiver } from '../support/receiver';
import { admin, call, eventually, startTestSimulators } from '../support/sim-client';

const merchant = {
  apiKey: 'sim-login-0001',
  apiPassphrase: 'sim-pass-0001',
  apiSignature: 'sim-signature-secret-0001',
  readOnlyKey: 'sim-readonly-0001',
};

/** Signs exactly as D24's documentation says: lowercase hex HMAC-SHA256 of the body bytes. */
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const sign = (body: string, secret = merchant.apiSignature) =>
  createHmac('sha256', secret).update(Buffer.from(body, 'utf8')).digest('hex');

describe('D24 simulator', () => {
  let sims: RunningSimulators;
  const receiver = new Receiver();
  let notificationUrl: string;
  let sequence = 0;

  beforeAll(async () => {
    sims = await startTestSimulators();
    notificationUrl = (await receiver.start()) + '/d24-notifications';
    await admin(sims, 'PUT', '/d24/merchants', merchant);
  });
  afterAll(async () => {
    await sims.stop();
    await receiver.stop();
  });

  const cashout = (overrides: Record<string, unknown> = {}) => ({
    login: merchant.apiKey,
    pass: merchant.apiPassphrase,
    external_id: `ext-${Date.now()}-${sequence++}`,
    country: 'BR',
    currency: 'BRL',
    amount: 100.5,
    document_id: '84932568207',
    document_type: 'CPF',
    beneficiary_name: 'José Müller',
    bank_code: 341,
    bank_account: '123456789',
    notification_url: notificationUrl,
    ...overrides,
  });

  const send = (method: string, path: string, body: string, headers: Record<string, string> = {}) =>
    call({
      method,
      url: sims.urls.d24 + path,
      body,
      ca: sims.serverCaPem,
      headers: {
        'Content-Type': 'application/json',
        'User-Agent': 'd24-test-client/1.0',
        Authorization: basic(merchant.apiKey, merchant.apiPassphrase),
        'Payload-Signature': sign(body),
        ...headers,
      },
    });

  const create = (overrides: Record<string, unknown> = {}) => {
    const body = JSON.stringify(cashout(overrides));
    return send('POST', '/v3/cashout', body);
  };

  const statusOf = async (cashoutId: string) => {
    const body = JSON.stringify({
      login: merchant.apiKey,
      pass: merchant.apiPassphrase,
      cashout_id: Number(cashoutId),
    });
    return (await send('POST', '/v3/cashout/status', body)).json<{ cashout_status: number; rejection_code?: number }>();
  };

  it('signs the documented vectors exactly (openssl-computed)', () => {
    for (const vector of D24_PAYLOAD_SIGNATURE_VECTORS) {
      expect(payloadSignature(D24_VECTOR_SECRET, Buffer.from(vector.body, 'utf8'))).toBe(vector.signature);
      expect(sign(vector.body, D24_VECTOR_SECRET)).toBe(vector.signature);
    }
    for (const vector of D24_CONTROL_VECTORS)
      expect(notificationControl(D24_VECTOR_SECRET, vector.externalId)).toBe(vector.control);
  });

  it('accepts a cashout built from the documentation and records it in the ledger', async () => {
    const body = cashout();
    const response = await send('POST', '/v3/cashout', JSON.stringify(body));
    expect(response.status).toBe(200);
    const { cashout_id } = response.json<{ cashout_id: string }>();
    expect(cashout_id).toMatch(/^\d+$/);
    const ledger = (await admin<Array<{ externalId: string; amount: string }>>(sims, 'GET', '/d24/ledger')).body;
    expect(ledger).toContainEqual(
      expect.objectContaining({ externalId: body.external_id, amount: '100.50', currency: 'BRL' }),
    );
  });

  it('refuses a missing, wrong, upper-case or re-serialised Payload-Signature (401, code 302)', async () => {
    const body = JSON.stringify(cashout());
    const cases: Array<Record<string, string>> = [
      { 'Payload-Signature': '' },
      { 'Payload-Signature': sign(body, 'another-secret') },
      { 'Payload-Signature': sign(body).toUpperCase() },
      // Signed one serialisation, sent another: the bytes differ.
      { 'Payload-Signature': sign(JSON.stringify(JSON.parse(body), null, 1)) },
    ];
    for (const headers of cases) {
      const response = await send('POST', '/v3/cashout', body, headers);
      expect([response.status, response.json().code]).toEqual([401, 302]);
    }
  });

  it('refuses HTTP Basic credentials that are missing, wrong or another merchant’s (401, code 401)', async () => {
    const body = JSON.stringify(cashout());
    const cases: Array<Record<string, string>> = [
      { Authorization: '' },
      { Authorization: basic(merchant.apiKey, 'wrong-passphrase') },
      { Authorization: basic('someone-else', merchant.apiPassphrase) },
      { Authorization: `Bearer ${merchant.apiPassphrase}` },
      { Authorization: 'Basic !!!' },
    ];
    for (const headers of cases) {
      const response = await send('POST', '/v3/cashout', body, headers);
      expect([response.status, response.json().code]).toEqual([401, 401]);
    }
  });

  it('refuses wrong credentials (401), an address not allow-listed (402) and malformed JSON (502)', async () => {
    const wrongPass = JSON.stringify(cashout({ pass: 'nope' }));
    expect((await send('POST', '/v3/cashout', wrongPass)).json()).toMatchObject({ code: 401 });

    await admin(sims, 'PATCH', '/d24/settings', { allowedIps: ['203.0.113.7'] });
    try {
      const blocked = await create();
      expect([blocked.status, blocked.json().code]).toEqual([401, 402]);
    } finally {
      await admin(sims, 'PATCH', '/d24/settings', { allowedIps: ['127.0.0.1', '::1'] });
    }

    const malformed = '{"login": "sim-login-0001", ';
    expect((await send('POST', '/v3/cashout', malformed)).json()).toMatchObject({ code: 502 });
  });

  it('answers missing fields (300), a duplicate external_id (511), unknown cashouts (509) and insufficient funds (514)', async () => {
    const missing = JSON.stringify({ login: merchant.apiKey, pass: merchant.apiPassphrase, country: 'BR', amount: 10 });
    const response = await send('POST', '/v3/cashout', missing);
    expect([response.status, response.json().code]).toEqual([400, 300]);
    expect(response.json().reason).toContain('external_id');

    const body = cashout();
    expect((await send('POST', '/v3/cashout', JSON.stringify(body))).status).toBe(200);
    const duplicate = await send('POST', '/v3/cashout', JSON.stringify(body));
    expect(duplicate.json()).toMatchObject({ code: 511 });

    const unknown = JSON.stringify({ login: merchant.apiKey, pass: merchant.apiPassphrase, cashout_id: 1 });
    const notFound = await send('POST', '/v3/cashout/status', unknown);
    expect([notFound.status, notFound.json().code]).toEqual([412, 509]);

    await admin(sims, 'PATCH', '/d24/settings', { balances: { MXN: '50.00' } });
    const poor = await create({ country: 'MX', currency: 'MXN', amount: 50.01, bank_code: 12 });
    expect(poor.json()).toMatchObject({ code: 514 });
    expect((await create({ country: 'MX', currency: 'MXN', amount: 50, bank_code: 12 })).status).toBe(200);
  });

  it('moves PENDING → DELIVERED → COMPLETED and notifies each change, form-encoded, with a control to verify and no status', async () => {
    receiver.received.length = 0;
    const body = cashout();
    const { cashout_id } = (await send('POST', '/v3/cashout', JSON.stringify(body))).json<{ cashout_id: string }>();
    await eventually(
      () => statusOf(cashout_id),
      (s) => s.cashout_status === 1,
    );
    const notifications = await eventually(
      () => receiver.received.filter((r) => r.body.includes(`cashout_id=${cashout_id}`)),
      (list) => list.length >= 2,
    );
    for (const notification of notifications) {
      expect(notification.headers['content-type']).toBe('application/x-www-form-urlencoded');
      const form = new URLSearchParams(notification.body);
      expect([...form.keys()].sort()).toEqual([
        'bank_reference_id',
        'cashout_id',
        'comments',
        'control',
        'date',
        'external_id',
        'status_reason',
      ]);
      const expected = createHmac('sha256', merchant.apiSignature)
        .update(`Be4${body.external_id}Bo7`)
        .digest('hex')
        .toUpperCase();
      expect(form.get('control')).toBe(expected);
    }
  });

  it('rejects and reverses for the documented test accounts', async () => {
    const rejected = (await create({ bank_account: '0000000000' })).json<{ cashout_id: string }>();
    expect(
      await eventually(
        () => statusOf(rejected.cashout_id),
        (s) => s.cashout_status === 3,
      ),
    ).toMatchObject({ rejection_code: 800 });
    const reversed = (await create({ bank_account: '9999999999' })).json<{ cashout_id: string }>();
    await eventually(
      () => statusOf(reversed.cashout_id),
      (s) => s.cashout_status === 1,
    );
    expect(
      await eventually(
        () => statusOf(reversed.cashout_id),
        (s) => s.cashout_status === 3,
      ),
    ).toMatchObject({ rejection_code: 826 });
  });

  it('holds and releases (ON_HOLD ⇄ PENDING), cancels only while PENDING or ON_HOLD, and refuses bad transitions (510, 702)', async () => {
    const { cashout_id } = (await create({ on_hold: true })).json<{ cashout_id: string }>();
    expect((await statusOf(cashout_id)).cashout_status).toBe(5);
    const holdAgain = JSON.stringify({
      login: merchant.apiKey,
      pass: merchant.apiPassphrase,
      cashout_id: Number(cashout_id),
      status: 'ON_HOLD',
    });
    expect((await send('PUT', '/v3/cashout/status', holdAgain)).json()).toMatchObject({ code: 510 });
    const cancel = JSON.stringify({
      login: merchant.apiKey,
      pass: merchant.apiPassphrase,
      cashout_id: Number(cashout_id),
    });
    expect((await send('DELETE', '/v3/cashout/cancel', cancel)).json()).toMatchObject({ cashout_status: 2 });

    const moving = (await create()).json<{ cashout_id: string }>();
    await eventually(
      () => statusOf(moving.cashout_id),
      (s) => s.cashout_status === 4 || s.cashout_status === 1,
    );
    const late = JSON.stringify({
      login: merchant.apiKey,
      pass: merchant.apiPassphrase,
      cashout_id: Number(moving.cashout_id),
    });
    expect((await send('DELETE', '/v3/cashout/cancel', late)).json()).toMatchObject({ code: 702 });
  });

  it('delivers notifications at least once: retries until acknowledged, and can duplicate and reorder them', async () => {
    receiver.received.length = 0;
    receiver.answers.push({ status: 500, body: 'down' }, { status: 503, body: 'down' });
    const { cashout_id } = (await create({ on_hold: true })).json<{ cashout_id: string }>();
    const release = JSON.stringify({
      login: merchant.apiKey,
      pass: merchant.apiPassphrase,
      cashout_id: Number(cashout_id),
      status: 'PENDING',
    });
    await send('PUT', '/v3/cashout/status', release);
    const delivered = await eventually(
      () => receiver.received.filter((r) => r.body.includes(`cashout_id=${cashout_id}`)),
      (list) => list.length >= 3,
    );
    expect(delivered.length).toBeGreaterThanOrEqual(3);

    await admin(sims, 'PATCH', '/d24/settings', { notifications: { duplicate: true, reorderWindowMs: 100 } });
    try {
      receiver.received.length = 0;
      const second = (await create()).json<{ cashout_id: string }>();
      await eventually(
        () => statusOf(second.cashout_id),
        (s) => s.cashout_status === 1,
      );
      const copies = await eventually(
        () => receiver.received.filter((r) => r.body.includes(`cashout_id=${second.cashout_id}`)),
        (list) => list.length >= 4,
      );
      expect(copies.length).toBeGreaterThanOrEqual(4);
    } finally {
      await admin(sims, 'PATCH', '/d24/settings', { notifications: { duplicate: false, reorderWindowMs: 0 } });
    }
  });

  it('lists banks for a read-only Bearer key and refuses other keys', async () => {
    const headers = { Authorization: `Bearer ${merchant.readOnlyKey}`, 'Payload-Signature': sign('') };
    const banks = await call({
      method: 'GET',
      url: `${sims.urls.d24}/v3/banks?country=BR`,
      ca: sims.serverCaPem,
      headers,
    });
    expect(banks.status).toBe(200);
    expect(banks.json<unknown[]>()).toContainEqual({ code: 341, name: 'Itaú Unibanco' });
    const wrong = await call({
      method: 'GET',
      url: `${sims.urls.d24}/v3/banks?country=BR`,
      ca: sims.serverCaPem,
      headers: { ...headers, Authorization: 'Bearer nope' },
    });
    expect(wrong.json()).toMatchObject({ code: 401 });
  });

  it('injects faults per route: 500, reset, accept-then-drop (the ledger has it, the client never hears), timeout, latency', async () => {
    await admin(sims, 'PUT', '/d24/faults', { route: 'POST /v3/cashout', settings: { errorRate: 1 } });
    expect((await create()).status).toBe(500);
    await admin(sims, 'PUT', '/d24/faults', { route: 'POST /v3/cashout', settings: { resetRate: 1 } });
    await expect(create()).rejects.toThrow(/socket hang up|ECONNRESET/);
    await admin(sims, 'PUT', '/d24/faults', { route: 'POST /v3/cashout', settings: { dropResponseRate: 1 } });
    const body = cashout();
    await expect(send('POST', '/v3/cashout', JSON.stringify(body))).rejects.toThrow(/socket hang up|ECONNRESET/);
    await admin(sims, 'PUT', '/d24/faults', { route: 'POST /v3/cashout', settings: { timeoutRate: 1, hangMs: 300 } });
    const started = Date.now();
    await expect(create()).rejects.toThrow(/socket hang up|ECONNRESET/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    await admin(sims, 'PUT', '/d24/faults', { route: 'POST /v3/cashout/status', settings: { latencyMs: 200 } });
    const slow = Date.now();
    await statusOf('1');
    expect(Date.now() - slow).toBeGreaterThanOrEqual(180);
    await admin(sims, 'DELETE', '/d24/faults');
    const ledger = (await admin<Array<{ externalId: string }>>(sims, 'GET', '/d24/ledger')).body;
    expect(ledger.map((e) => e.externalId)).toContain(body.external_id);
  });

  it('injects malformed answers: the work is done, the body is cut in half or replaced, the status kept', async () => {
    await admin(sims, 'PUT', '/d24/faults', { route: 'POST /v3/cashout', settings: { malformedRate: 1 } });
    const body = cashout();
    const cut = await send('POST', '/v3/cashout', JSON.stringify(body));
    expect(cut.status).toBe(200);
    expect(cut.headers['content-type']).toBe('application/json');
    expect(() => JSON.parse(cut.text)).toThrow();
    expect(cut.text).toMatch(/^\{"cashout_id/); // the first half of {"cashout_id":"8405…"}
    await admin(sims, 'PUT', '/d24/faults', {
      route: 'POST /v3/cashout',
      settings: { malformedRate: 1, malformedBody: '{"cashout_id":null}' },
    });
    const replaced = await create();
    expect([replaced.status, replaced.text]).toEqual([200, '{"cashout_id":null}']);
    await admin(sims, 'DELETE', '/d24/faults');
    const ledger = (await admin<Array<{ externalId: string }>>(sims, 'GET', '/d24/ledger')).body;
    expect(ledger.map((e) => e.externalId)).toContain(body.external_id);
  });

  it('counts TLS handshakes and requests: a keep-alive client does one handshake for many calls', async () => {
    await admin(sims, 'POST', '/counters/reset');
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let i = 0; i < 20; i++) {
        const body = JSON.stringify({ login: merchant.apiKey, pass: merchant.apiPassphrase, cashout_id: 1 });
        await call({
          method: 'POST',
          url: `${sims.urls.d24}/v3/cashout/status`,
          body,
          ca: sims.serverCaPem,
          agent,
          headers: {
            'Content-Type': 'application/json',
            'User-Agent': 't',
            Authorization: basic(merchant.apiKey, merchant.apiPassphrase),
            'Payload-Signature': sign(body),
          },
        });
      }
    } finally {
      agent.destroy();
    }
    const counters = (await admin<Record<string, { handshakes: number; requests: number }>>(sims, 'GET', '/counters'))
      .body;
    expect(counters.d24).toMatchObject({ handshakes: 1, requests: 20 });
  });
});
