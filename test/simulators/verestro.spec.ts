import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { RunningSimulators } from '../../src/simulators/simulators';
import { buildTestPki, EKU, issue, selfSigned, signCsr } from '../support/pki';
import { Receiver } from '../support/receiver';
import { admin, call, eventually, startTestSimulators } from '../support/sim-client';

/** A key and CSR made exactly like the seed's example command (openssl req -new -newkey rsa:N -nodes -subj …). */
function opensslCsr(subject: string, bits = 2048): { csrPem: string; keyPem: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'pbt-verestro-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-new',
        '-newkey',
        `rsa:${bits}`,
        '-keyout',
        path.join(dir, 'k.key'),
        '-out',
        path.join(dir, 'c.csr'),
        '-nodes',
        '-subj',
        subject,
      ],
      { stdio: 'ignore' },
    );
    return {
      csrPem: readFileSync(path.join(dir, 'c.csr'), 'utf8'),
      keyPem: readFileSync(path.join(dir, 'k.key'), 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const SANDBOX_SUBJECT =
  '/C=US/ST=Florida/L=Miami/O=SomeCompany/OU=main/CN=V-SBX-Somecompany-Payouts/emailAddress=example@user.com';

describe('Verestro simulator', () => {
  let sims: RunningSimulators;
  let client: { certificatePem: string; keyPem: string };
  let partner: { username: string; password: string };

  beforeAll(async () => {
    sims = await startTestSimulators(5);
    const { csrPem, keyPem } = opensslCsr(SANDBOX_SUBJECT);
    const signed = await admin<{ certificatePem: string; caPem: string }>(sims, 'POST', '/verestro/csr', {
      csrPem,
      environment: 'sandbox',
    });
    expect(signed.status).toBe(200);
    expect(signed.body.caPem).toBe(sims.verestroCa.certificatePem);
    client = { certificatePem: signed.body.certificatePem, keyPem };
    partner = (await admin<{ username: string; password: string }>(sims, 'GET', '/verestro/partner')).body;
  });
  afterAll(() => sims.stop());

  it.each([
    [
      'a beta-style CN in the sandbox',
      '/C=US/ST=Florida/L=Miami/O=SomeCompany/OU=main/CN=V-Somecompany-Payouts/emailAddress=example@user.com',
      'sandbox',
      /CN must look like V-SBX-/,
    ],
    ['a sandbox CN in beta', SANDBOX_SUBJECT, 'beta', /CN must look like V-Companyname/],
    [
      'a company part not written Somecompany',
      '/C=US/ST=Florida/L=Miami/O=SomeCompany/OU=main/CN=V-SBX-SomeCompany-Payouts/emailAddress=example@user.com',
      'sandbox',
      /CN must look like/,
    ],
    [
      'an OU other than main',
      '/C=US/ST=Florida/L=Miami/O=SomeCompany/OU=payments/CN=V-SBX-Somecompany-Payouts/emailAddress=example@user.com',
      'sandbox',
      /OU must be exactly "main"/,
    ],
    [
      'a comma in a field',
      '/C=US/ST=Florida/L=Miami/O=Some\\, Inc/OU=main/CN=V-SBX-Somecompany-Payouts/emailAddress=example@user.com',
      'sandbox',
      /commas are not allowed/,
    ],
    [
      'a country that is not two letters',
      '/C=1A/ST=Florida/L=Miami/O=SomeCompany/OU=main/CN=V-SBX-Somecompany-Payouts/emailAddress=example@user.com',
      'sandbox',
      /C must be a two-letter/,
    ],
  ])('refuses to sign a CSR with %s', async (_case, subject, environment, reason) => {
    const { csrPem } = opensslCsr(subject);
    const response = await admin<{ violations: string[] }>(sims, 'POST', '/verestro/csr', { csrPem, environment });
    expect(response.status).toBe(422);
    expect(response.body.violations.join('\n')).toMatch(reason);
  });

  it('refuses a key under 2048 bits', async () => {
    const { csrPem } = opensslCsr(SANDBOX_SUBJECT, 1024);
    const response = await admin<{ violations: string[] }>(sims, 'POST', '/verestro/csr', { csrPem });
    expect(response.body.violations.join('\n')).toMatch(/at least 2048 bits/);
  });

  const sendMoney = (
    body: unknown,
    tls: { cert?: string; key?: string } = { cert: client.certificatePem, key: client.keyPem },
    auth = partner,
  ) =>
    call({
      method: 'POST',
      url: `${sims.urls.verestro}/api/v2/client/send-money`,
      body: JSON.stringify(body),
      ca: sims.serverCaPem,
      ...tls,
      headers: {
        'Content-Type': 'application/json',
        Authorization: 'Basic ' + Buffer.from(`${auth.username}:${auth.password}`).toString('base64'),
      },
    });

  it('pays out to a card over mTLS with Basic auth, and the order completes', async () => {
    const response = await sendMoney({
      amount: '25.00',
      currency: 'EUR',
      recipient: { cardToken: 'tok_visa_4242' },
      externalId: 'payout-1',
    });
    expect(response.status).toBe(201);
    const { orderId } = response.json<{ orderId: string }>();
    const status = await eventually(
      async () =>
        (
          await call({
            method: 'GET',
            url: `${sims.urls.verestro}/api/v2/client/send-money/${orderId}`,
            ca: sims.serverCaPem,
            cert: client.certificatePem,
            key: client.keyPem,
            headers: {
              Authorization: 'Basic ' + Buffer.from(`${partner.username}:${partner.password}`).toString('base64'),
            },
          })
        ).json(),
      (order) => order.status === 'COMPLETED',
    );
    expect(status).toMatchObject({ externalId: 'payout-1', amount: '25.00' });
    expect(
      (
        await sendMoney({
          amount: '25.00',
          currency: 'EUR',
          recipient: { cardToken: 'tok_visa_4242' },
          externalId: 'payout-1',
        })
      ).status,
    ).toBe(409);
  });

  it('refuses a missing client certificate and one it did not sign, at the TLS layer', async () => {
    const body = { amount: '1.00', currency: 'EUR', recipient: { cardToken: 't' }, externalId: 'x-1' };
    await expect(sendMoney(body, {})).rejects.toThrow();
    const foreign = await buildTestPki('Foreign');
    await expect(
      sendMoney(body, { cert: foreign.leaf.pem + foreign.intermediate.pem, key: foreign.leaf.privateKeyPem }),
    ).rejects.toThrow();
  });

  it('refuses wrong Basic credentials on top of a good certificate (401)', async () => {
    const response = await sendMoney(
      { amount: '1.00', currency: 'EUR', recipient: { cardToken: 't' }, externalId: 'x-2' },
      undefined,
      { username: partner.username, password: 'wrong' },
    );
    expect(response.status).toBe(401);
  });

  it('calls the partner back over reverse mTLS with X-Idempotency-Key', async () => {
    const partnerCa = await selfSigned({ subject: 'CN=Partner Callback CA,O=Example Payments', ca: true });
    const server = await issue(partnerCa, {
      subject: 'CN=127.0.0.1',
      extendedKeyUsages: [EKU.serverAuth],
      altNames: ['127.0.0.1', 'localhost'],
    });
    const receiver = new Receiver();
    const url = await receiver.start({
      key: server.privateKeyPem,
      cert: server.pem,
      ca: partnerCa.pem,
      requestCert: true,
      rejectUnauthorized: true,
    });
    try {
      const { csrPem } = (await admin<{ csrPem: string }>(sims, 'GET', '/verestro/callbacks/csr')).body;
      const certificatePem = await signCsr(partnerCa, csrPem);
      await admin(sims, 'PUT', '/verestro/callbacks', {
        url: `${url}/v1/webhooks/verestro`,
        certificatePem,
        serverCaPem: partnerCa.pem,
      });
      const response = await sendMoney({
        amount: '5.00',
        currency: 'EUR',
        recipient: { cardToken: 'tok_declined' },
        externalId: 'payout-cb',
      });
      const { orderId } = response.json<{ orderId: string }>();
      const [callback] = await eventually(
        () => receiver.received.filter((r) => r.body.includes(orderId)),
        (list) => list.length >= 1,
      );
      expect(callback.peerCertificateSubject).toBe('Verestro Simulator Callbacks');
      expect(callback.headers['x-idempotency-key']).toMatch(/^[0-9a-f-]{36}$/);
      expect(JSON.parse(callback.body)).toMatchObject({ orderId, externalId: 'payout-cb', status: 'FAILED' });
    } finally {
      await receiver.stop();
    }
  });
});
