import { generateKeyPairSync, randomUUID, sign as rsaSign } from 'node:crypto';
import type { RunningSimulators } from '../../src/simulators/simulators';
import { selfSigned } from '../support/pki';
import { Receiver } from '../support/receiver';
import { admin, call, eventually, startTestSimulators } from '../support/sim-client';

interface Chain {
  chainPem: string;
  privateKeyPem: string;
}

describe('ConnectPay simulator', () => {
  let sims: RunningSimulators;
  let registered: Chain;
  let devApp: { clientKey: string; clientSecret: string };
  const receiver = new Receiver();
  const secretToken = randomUUID();

  beforeAll(async () => {
    sims = await startTestSimulators(3);
    registered = (
      await admin<Chain>(sims, 'POST', '/connectpay/chains', { commonName: 'payouts.example.com', register: true })
    ).body;
    devApp = (await admin<{ clientKey: string; clientSecret: string }>(sims, 'GET', '/connectpay/devapp')).body;
    const url = (await receiver.start()) + '/connectpay-webhooks';
    await admin(sims, 'PUT', '/connectpay/webhook', { url, secretToken, headerName: 'X-Secret-Token' });
  });
  afterAll(async () => {
    await sims.stop();
    await receiver.stop();
  });

  const basic = () => 'Basic ' + Buffer.from(`${devApp.clientKey}:${devApp.clientSecret}`).toString('base64');

  /** A call on the mTLS host presenting `chain` (leaf + intermediate + root) as the client certificate. */
  const mtls = (
    method: string,
    path: string,
    options: { body?: string; headers?: Record<string, string>; chain?: Chain | null } = {},
  ) => {
    const chain = options.chain === undefined ? registered : options.chain;
    return call({
      method,
      url: sims.urls.connectpayMtls + path,
      body: options.body,
      ca: sims.serverCaPem,
      ...(chain ? { cert: chain.chainPem, key: chain.privateKeyPem } : {}),
      headers: { 'X-Request-ID': randomUUID(), ...options.headers },
    });
  };

  async function accessToken(): Promise<{ access_token: string; refresh_token: string }> {
    const { code } = (await admin<{ code: string }>(sims, 'POST', '/connectpay/auth-codes')).body;
    const response = await mtls('POST', '/auth/v1/oauth2/token', {
      body: `grant_type=authorization_code&code=${code}`,
      headers: { Authorization: basic(), 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    expect(response.status).toBe(200);
    return response.json();
  }

  it('exchanges an auth code over mTLS with Basic client auth (1 h access token, 30 d refresh), once', async () => {
    const { code } = (await admin<{ code: string }>(sims, 'POST', '/connectpay/auth-codes')).body;
    const form = {
      body: `grant_type=authorization_code&code=${code}`,
      headers: { Authorization: basic(), 'Content-Type': 'application/x-www-form-urlencoded' },
    };
    const response = await mtls('POST', '/auth/v1/oauth2/token', form);
    expect(response.json()).toMatchObject({
      token_type: 'Bearer',
      expires_in: 3600,
      scope: 'ob-ps:authz-nosca ob-ps ob-as',
      refresh_token_expires_in: '2592000',
    });
    expect((await mtls('POST', '/auth/v1/oauth2/token', form)).json()).toMatchObject({ error: 'invalid_grant' });

    const refreshed = await mtls('POST', '/auth/v1/oauth2/token', {
      body: `grant_type=refresh_token&refresh_token=${response.json<{ refresh_token: string }>().refresh_token}`,
      headers: form.headers,
    });
    expect(refreshed.json()).toMatchObject({ token_type: 'Bearer', expires_in: 3600 });

    const wrongSecret = await mtls('POST', '/auth/v1/oauth2/token', {
      ...form,
      headers: {
        ...form.headers,
        Authorization: 'Basic ' + Buffer.from(`${devApp.clientKey}:nope`).toString('base64'),
      },
    });
    expect([wrongSecret.status, wrongSecret.json().error]).toEqual([401, 'invalid_client']);
  });

  it('refuses a connection without a client certificate, with a self-signed one, and with one from another CA', async () => {
    await expect(mtls('GET', '/ob/accounts', { chain: null })).rejects.toThrow();
    const self = await selfSigned({ subject: 'CN=payouts.example.com' });
    await expect(
      mtls('GET', '/ob/accounts', { chain: { chainPem: self.pem, privateKeyPem: self.privateKeyPem } }),
    ).rejects.toThrow();
  });

  it('refuses a certificate from the public CA whose serial + CN are not registered for the DevApp (403)', async () => {
    const unregistered = (await admin<Chain>(sims, 'POST', '/connectpay/chains', { commonName: 'other.example.com' }))
      .body;
    const response = await mtls('GET', '/ob/accounts', { chain: unregistered });
    expect([response.status, response.json().error]).toEqual([403, 'CERTIFICATE_NOT_REGISTERED']);
    await admin(sims, 'POST', '/connectpay/devapp/certificates', { chainPem: unregistered.chainPem });
    const token = await accessToken();
    const after = await mtls('GET', '/ob/accounts', {
      chain: unregistered,
      headers: { Authorization: `Bearer ${token.access_token}` },
    });
    expect(after.status).toBe(200);
  });

  it('requires X-Request-ID and a Bearer token with the right scope', async () => {
    const noRequestId = await call({
      method: 'GET',
      url: `${sims.urls.connectpayMtls}/ob/accounts`,
      ca: sims.serverCaPem,
      cert: registered.chainPem,
      key: registered.privateKeyPem,
    });
    expect([noRequestId.status, noRequestId.json().error]).toEqual([400, 'X_REQUEST_ID_REQUIRED']);
    expect((await mtls('GET', '/ob/accounts')).status).toBe(401);
  });

  it('keeps the host families apart: person data only on mTLS, Merchant API only on one-way TLS', async () => {
    const onOneWay = await call({
      method: 'GET',
      url: `${sims.urls.connectpayOneWay}/ob/accounts`,
      ca: sims.serverCaPem,
      headers: { 'X-Request-ID': randomUUID() },
    });
    expect([onOneWay.status, onOneWay.json().error]).toEqual([403, 'MTLS_REQUIRED']);
    const tokenOnOneWay = await call({
      method: 'POST',
      url: `${sims.urls.connectpayOneWay}/auth/v1/oauth2/token`,
      ca: sims.serverCaPem,
      body: 'grant_type=authorization_code&code=x',
    });
    expect(tokenOnOneWay.json().error).toBe('MTLS_REQUIRED');
    const merchantOnMtls = await mtls('POST', '/merchant/payments', { body: '{}' });
    expect([merchantOnMtls.status, merchantOnMtls.json().error]).toEqual([403, 'ONE_WAY_TLS_REQUIRED']);
  });

  it('runs a payment: accounts → rails → initiate (RCVD) → nosca (ACTC) → ACSP → ACSC, with webhooks carrying the token and timestamp', async () => {
    const token = await accessToken();
    const bearer = { Authorization: `Bearer ${token.access_token}`, 'Content-Type': 'application/json' };
    const accounts = (await mtls('GET', '/ob/accounts?withBalance=true', { headers: bearer })).json<{
      accounts: Array<{ iban: string; balances: Array<{ amount: string }> }>;
    }>().accounts;
    const debtor = accounts[0];
    expect(debtor.balances[0].amount).toMatch(/^\d+\.\d{2}$/);

    const rails = await mtls('POST', '/ob/paymentrails', {
      headers: bearer,
      body: JSON.stringify({
        debtorAccount: { iban: debtor.iban },
        creditorAccount: { iban: 'DE89370400440532013000' },
        instructedAmount: { amount: '120.00', currency: 'EUR' },
      }),
    });
    expect(rails.json()).toEqual({ paymentRails: ['SEPA_SCT_INST', 'SEPA_SCT'] });

    receiver.received.length = 0;
    const payment = {
      paymentRail: 'SEPA_SCT',
      debtorAccount: { iban: debtor.iban },
      creditorAccount: { iban: 'DE89370400440532013000', bic: 'COBADEFFXXX', bankName: 'Commerzbank' },
      creditorName: 'Erika Mustermann',
      creditorAddress: { addressLine1: 'Hauptstr. 1', city: 'Berlin', postcode: '10115', countryCode: 'DE' },
      instructedAmount: { amount: '120.00', currency: 'EUR' },
      remittanceInformationUnstructured: 'Invoice 42',
      externalReference: `ref-${randomUUID()}`,
    };
    const created = await mtls('POST', '/ob/payments', { headers: bearer, body: JSON.stringify(payment) });
    expect(created.status).toBe(201);
    expect(created.json()).toMatchObject({
      paymentRail: 'SEPA_SCT',
      transactionStatus: 'RCVD',
      transactionFees: { amount: '5.00', currency: 'EUR' },
    });
    const no = created.json<{ paymentOrderNo: string }>().paymentOrderNo;

    const duplicate = await mtls('POST', '/ob/payments', { headers: bearer, body: JSON.stringify(payment) });
    expect([duplicate.status, duplicate.json().paymentOrderNo]).toEqual([409, no]);

    expect((await mtls('POST', `/ob/payments/${no}/authorisations/nosca`, { headers: bearer })).json()).toMatchObject({
      transactionStatus: 'ACTC',
    });
    await eventually(
      async () => (await mtls('GET', `/ob/payments/${no}/status`, { headers: bearer })).json().transactionStatus,
      (s) => s === 'ACSC',
    );

    const hooks = await eventually(
      () => receiver.received.filter((r) => r.body.includes(no)),
      (list) => list.length >= 4,
    );
    for (const hook of hooks) {
      expect(hook.headers['x-secret-token']).toBe(secretToken);
      expect(hook.headers['x-connectpay-timestamp']).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/);
    }
    expect(hooks.map((h) => JSON.parse(h.body).eventType)).toContain('OutgoingPayment.Completed');

    const transactions = await mtls('GET', `/ob/accounts/acc-eur-main/transactions?sortOrder=DESC`, {
      headers: bearer,
    });
    expect(
      transactions.json<{ transactions: Array<{ remittanceInformation: string }> }>().transactions[0]
        .remittanceInformation,
    ).toBe(payment.externalReference);
  });

  it('retries a webhook until the receiver answers OK', async () => {
    const token = await accessToken();
    receiver.received.length = 0;
    receiver.answers.push({ status: 200, body: 'not ok' }, { status: 500, body: 'down' });
    const body = {
      paymentRail: 'INTERNAL',
      debtorAccount: { iban: 'LT601010012345678901' },
      creditorAccount: { iban: 'LT851010098765432109' },
      creditorName: 'Payroll',
      instructedAmount: { amount: '1.00', currency: 'EUR' },
      externalReference: `ref-${randomUUID()}`,
    };
    const created = await mtls('POST', '/ob/payments', {
      headers: { Authorization: `Bearer ${token.access_token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    const no = created.json<{ paymentOrderNo: string }>().paymentOrderNo;
    const deliveries = await eventually(
      () => receiver.received.filter((r) => r.body.includes(no)),
      (list) => list.length >= 3,
    );
    expect(deliveries.every((d) => JSON.parse(d.body).transactionStatus === 'RCVD')).toBe(true);
  });

  describe('Merchant API v2 on the one-way host', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });

    beforeAll(async () => {
      await admin(sims, 'POST', '/connectpay/merchant-keys', {
        publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }),
      });
    });

    /** The documented rule: method lower case + URL without https:// lower case + body without whitespace, RSA-SHA256, base64. */
    function xSignature(method: string, url: string, body: string): string {
      const message = method.toLowerCase() + url.replace(/^https:\/\//, '').toLowerCase() + body.replace(/\s+/g, '');
      return rsaSign('sha256', Buffer.from(message, 'utf8'), privateKey).toString('base64');
    }

    const merchantCall = (body: string, signature: string) =>
      call({
        method: 'POST',
        url: `${sims.urls.connectpayOneWay}/merchant/payments`,
        body,
        ca: sims.serverCaPem,
        headers: { Authorization: basic(), 'Content-Type': 'application/json', 'X-Signature': signature },
      });

    it('accepts a request signed by the documented rule, whatever whitespace the body has', async () => {
      const body = '{ "amount": { "amount": "10.00", "currency": "EUR" },\n  "reference": "order 7" }';
      const response = await merchantCall(
        body,
        xSignature('POST', `${sims.urls.connectpayOneWay}/merchant/payments`, body),
      );
      expect(response.status).toBe(201);
      expect(response.json()).toMatchObject({ status: 'CREATED', reference: 'order 7' });
    });

    it('refuses a wrong signature, a tampered body and missing Basic auth', async () => {
      const body = '{"amount":{"amount":"10.00","currency":"EUR"},"reference":"order 8"}';
      const good = xSignature('POST', `${sims.urls.connectpayOneWay}/merchant/payments`, body);
      expect((await merchantCall(body.replace('10.00', '99.00'), good)).json()).toMatchObject({
        error: 'INVALID_SIGNATURE',
      });
      expect(
        (await merchantCall(body, xSignature('GET', `${sims.urls.connectpayOneWay}/merchant/payments`, body))).status,
      ).toBe(401);
      const anonymous = await call({
        method: 'POST',
        url: `${sims.urls.connectpayOneWay}/merchant/payments`,
        body,
        ca: sims.serverCaPem,
        headers: { 'X-Signature': good },
      });
      expect(anonymous.json()).toMatchObject({ error: 'UNAUTHORIZED' });
    });
  });
});
