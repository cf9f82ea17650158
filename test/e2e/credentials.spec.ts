import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { unzipSync } from 'fflate';
import type { Response as SuperAgentResponse } from 'superagent';
import type { CredentialChange } from '../../src/credentials/credential-vault.service';
import { CredentialVault } from '../../src/credentials/credential-vault.service';
import { CredentialExpiryJob } from '../../src/credentials/credential-expiry.job';
import type { TestPki } from '../support/pki';
import { buildTestPki, csrSubject, DAY_MS, selfSigned, signCsr } from '../support/pki';
import type { TestApp } from '../support/test-app';
import { bearer, startTestApp } from '../support/test-app';

const csrRequest = {
  environment: 'sandbox',
  country: 'US',
  state: 'Florida',
  locality: 'Miami',
  organization: 'SomeCompany',
  companyName: 'SomeCompany',
  applicationName: 'Payouts',
  email: 'example@user.com',
  keyBits: 2048,
};

/** Reads a PEM through openssl, as an operator or Verestro would. */
function openssl(args: string[], pem: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'pbt-openssl-'));
  try {
    const file = path.join(dir, 'in.pem');
    writeFileSync(file, pem);
    return execFileSync('openssl', [...args, '-in', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function subjectFields(csrPem: string): Record<string, string> {
  const text = openssl(['req', '-noout', '-subject', '-nameopt', 'multiline,sname'], csrPem);
  return Object.fromEntries(
    text
      .split('\n')
      .slice(1)
      .filter((line) => line.includes('='))
      .map((line) => line.split('=').map((part) => part.trim()) as [string, string]),
  );
}

describe('credential vault (real HTTP, real PostgreSQL, real X.509)', () => {
  let t: TestApp;
  let pki: TestPki;
  const responses: unknown[] = [];
  const secrets: string[] = [];

  /** Subscribed to the credential events; nothing listens at its URL, the outbox rows are what tests read. */
  let credentialEvents: string;

  beforeAll(async () => {
    [t, pki] = await Promise.all([
      startTestApp({ env: { EVENTS_ALLOWED_DESTINATIONS: '127.0.0.0/8' } }),
      buildTestPki('Verestro Test'),
    ]);
    const subscribed = await t.http
      .post('/v1/event-subscriptions')
      .set(bearer(t.adminKey))
      .send({
        url: 'http://127.0.0.1:9/events',
        events: ['credential.expiring', 'credential.expired', 'credential.rotated'],
      });
    credentialEvents = subscribed.body.id;
  });
  afterAll(() => t.close());

  const admin = () => bearer(t.adminKey);
  const announced = async (credentialId: string): Promise<Array<[string, Record<string, unknown>]>> =>
    (
      await t.dataSource.query<Array<{ type: string; payload: { data: Record<string, unknown> } }>>(
        `SELECT type, payload FROM outbound_events WHERE subscription_id = $1 AND payload->'data'->>'credentialId' = $2 ORDER BY id`,
        [credentialEvents, credentialId],
      )
    ).map((row) => [row.type, row.payload.data]);
  const remember = <T extends { body: unknown }>(response: T): T => {
    responses.push(response.body);
    return response;
  };

  describe('Verestro CSR', () => {
    it('generates a sandbox CSR that openssl verifies, with every subject field as the seed says', async () => {
      const response = remember(await t.http.post('/v1/credentials/verestro/csr').set(admin()).send(csrRequest));
      expect(response.status).toBe(201);
      expect(response.body.commonName).toBe('V-SBX-Somecompany-Payouts');
      expect(response.body.credential).toMatchObject({
        provider: 'verestro',
        environment: 'sandbox',
        status: 'pending',
        keyAlgorithm: 'RSA-2048',
      });
      const csr = response.body.csrPem as string;
      expect(openssl(['req', '-noout', '-verify'], csr)).toBe('');
      expect(subjectFields(csr)).toEqual({
        C: 'US',
        ST: 'Florida',
        L: 'Miami',
        O: 'SomeCompany',
        OU: 'main',
        CN: 'V-SBX-Somecompany-Payouts',
        emailAddress: 'example@user.com',
      });
      expect(openssl(['req', '-noout', '-text'], csr)).toMatch(/Public-Key: \(2048 bit\)/);

      const download = await t.http
        .get(`/v1/credentials/${response.body.credential.id}/csr`)
        .set(admin())
        .buffer(true)
        .parse(binary);
      expect(download.status).toBe(200);
      expect(download.headers['content-type']).toContain('application/pkcs10');
      expect(download.headers['content-disposition']).toContain('V-SBX-Somecompany-Payouts.csr');
      expect(download.body.toString()).toBe(csr);
    });

    it('generates beta with V-<Company>-<App>, and refuses a production CN that differs from beta', async () => {
      const beta = remember(
        await t.http
          .post('/v1/credentials/verestro/csr')
          .set(admin())
          .send({ ...csrRequest, environment: 'beta' }),
      );
      expect(beta.status).toBe(201);
      expect(subjectFields(beta.body.csrPem)).toMatchObject({ CN: 'V-Somecompany-Payouts', OU: 'main' });
      expect(openssl(['req', '-noout', '-verify'], beta.body.csrPem)).toBe('');

      const differing = await t.http
        .post('/v1/credentials/verestro/csr')
        .set(admin())
        .send({ ...csrRequest, environment: 'production', companyName: 'OtherCompany' });
      expect(differing.status).toBe(422);
      expect(differing.body.error.code).toBe('CSR_RULES_VIOLATED');
      expect(differing.body.error.details).toEqual([
        expect.objectContaining({ field: 'companyName', code: 'CN_DIFFERS_BETWEEN_BETA_AND_PRODUCTION' }),
      ]);

      const same = await t.http
        .post('/v1/credentials/verestro/csr')
        .set(admin())
        .send({ ...csrRequest, environment: 'production' });
      expect(same.status).toBe(201);
      expect(same.body.commonName).toBe('V-Somecompany-Payouts');
    });

    it('refuses a comma anywhere, listing every violation with its field and code, and writes nothing', async () => {
      const before = await t.dataSource.query('SELECT count(*)::int AS n FROM credentials');
      const response = await t.http
        .post('/v1/credentials/verestro/csr')
        .set(admin())
        .send({
          ...csrRequest,
          state: 'Florida, USA',
          organization: 'Some, Inc',
          locality: 'Mia,mi',
          country: 'USA',
          keyBits: 1024,
        });
      expect(response.status).toBe(422);
      expect(response.body.error.code).toBe('CSR_RULES_VIOLATED');
      const violations = response.body.error.details.map(
        (v: { field: string; code: string }) => `${v.field}:${v.code}`,
      );
      expect(violations).toEqual(
        expect.arrayContaining([
          'state:COMMA_NOT_ALLOWED',
          'organization:COMMA_NOT_ALLOWED',
          'locality:COMMA_NOT_ALLOWED',
          'country:COUNTRY_NOT_ISO_3166_ALPHA2',
          'keyBits:KEY_TOO_SHORT',
        ]),
      );
      expect(response.body.error.message).toMatch(/state: must not contain a comma/);
      expect(await t.dataSource.query('SELECT count(*)::int AS n FROM credentials')).toEqual(before);
    });

    it('answers a missing field with 400 VALIDATION_FAILED', async () => {
      const { email: _email, ...withoutEmail } = csrRequest;
      const response = await t.http.post('/v1/credentials/verestro/csr').set(admin()).send(withoutEmail);
      expect(response.status).toBe(400);
      expect(response.body.error.details.map((d: { field: string }) => d.field)).toEqual(
        expect.arrayContaining(['email']),
      );
      expect(response.body.error.details.every((d: { field: string }) => d.field === 'email')).toBe(true);
    });
  });

  describe('importing the certificate Verestro signed', () => {
    let credentialId: string;
    let csrPem: string;

    beforeAll(async () => {
      const response = await t.http
        .post('/v1/credentials/verestro/csr')
        .set(admin())
        .send({ ...csrRequest, environment: 'simulator' });
      credentialId = response.body.credential.id;
      csrPem = response.body.csrPem;
    });

    const importing = (body: Record<string, unknown>) =>
      t.http.post(`/v1/credentials/${credentialId}/certificate`).set(admin()).send(body);

    it('refuses a certificate for another key', async () => {
      const otherCsr = (
        await t.http
          .post('/v1/credentials/verestro/csr')
          .set(admin())
          .send({ ...csrRequest, environment: 'simulator', applicationName: 'Other' })
      ).body.csrPem;
      const response = await importing({
        certificatePem: await signCsr(pki.intermediate, otherCsr, { subject: csrSubject(csrPem) }),
      });
      expect(response.status).toBe(422);
      expect(response.body.error.details.map((d: { code: string }) => d.code)).toEqual(['KEY_MISMATCH']);
    });

    it('refuses a certificate whose subject differs from the CSR', async () => {
      const response = await importing({
        certificatePem: await signCsr(pki.intermediate, csrPem, {
          subject: 'CN=V-SBX-Somecompany-Payouts,OU=other,O=SomeCompany,C=US',
        }),
      });
      expect(response.status).toBe(422);
      expect(response.body.error.details).toEqual([expect.objectContaining({ code: 'SUBJECT_MISMATCH' })]);
      expect(response.body.error.details[0].message).toContain('OU (expected "main", got "other")');
    });

    it('refuses an expired certificate and one not signed by the given CA', async () => {
      const expired = await signCsr(pki.intermediate, csrPem, {
        notBefore: new Date(Date.now() - 10 * DAY_MS),
        notAfter: new Date(Date.now() - DAY_MS),
      });
      expect(
        (await importing({ certificatePem: expired })).body.error.details.map((d: { code: string }) => d.code),
      ).toEqual(['EXPIRED']);
      const other = await selfSigned({ subject: 'CN=Another CA', ca: true });
      const wrongCa = await importing({ certificatePem: await signCsr(pki.intermediate, csrPem), caPem: other.pem });
      expect(wrongCa.body.error.details.map((d: { code: string }) => d.code)).toEqual(['NOT_SIGNED_BY_CA']);
      expect(
        (await importing({ certificatePem: 'garbage' })).body.error.details.map((d: { code: string }) => d.code),
      ).toEqual(['NOT_PEM']);
    });

    it('activates a correct certificate, and a later one rotates it out atomically', async () => {
      const changes: CredentialChange[] = [];
      const stop = t.app.get(CredentialVault).onChange((change) => changes.push(change));
      try {
        const activated = remember(
          await importing({ certificatePem: await signCsr(pki.intermediate, csrPem), caPem: pki.intermediate.pem }),
        );
        expect(activated.status).toBe(200);
        expect(activated.body).toMatchObject({
          status: 'active',
          certificate: { subject: expect.stringContaining('CN=V-SBX-Somecompany-Payouts') },
        });
        expect(activated.body.certificate.expiresInDays).toBeGreaterThan(300);

        const again = await importing({ certificatePem: await signCsr(pki.intermediate, csrPem) });
        expect(again.status).toBe(409);
        expect(again.body.error.code).toBe('CREDENTIAL_NOT_PENDING');

        const next = await t.http
          .post('/v1/credentials/verestro/csr')
          .set(admin())
          .send({ ...csrRequest, environment: 'simulator' });
        const rotated = await t.http
          .post(`/v1/credentials/${next.body.credential.id}/certificate`)
          .set(admin())
          .send({ certificatePem: await signCsr(pki.intermediate, next.body.csrPem) });
        expect(rotated.body).toMatchObject({ status: 'active', replacesId: credentialId });
        const old = await t.http.get(`/v1/credentials/${credentialId}`).set(admin());
        expect(old.body).toMatchObject({ status: 'retired', replacedById: next.body.credential.id });

        const material = await t.app
          .get(CredentialVault)
          .activeMaterial('verestro', 'simulator', 'mtls_client_certificate');
        expect(material?.credential.id).toBe(next.body.credential.id);
        expect(material?.secret.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
        secrets.push(material!.secret.privateKeyPem);
        expect(changes.map((c) => [c.credentialId, c.status])).toEqual(
          expect.arrayContaining([
            [credentialId, 'active'],
            [next.body.credential.id, 'active'],
          ]),
        );

        const events = await t.http.get(`/v1/credentials/${credentialId}/events`).set(admin());
        expect(events.body.map((e: { type: string }) => e.type)).toEqual(['created', 'activated', 'rotated_out']);
        expect(events.body[1].actor).toBe('admin (ADMIN_API_KEY)');
        expect(await announced(next.body.credential.id)).toEqual([
          [
            'credential.rotated',
            expect.objectContaining({
              provider: 'verestro',
              kind: 'mtls_client_certificate',
              replacesId: credentialId,
            }),
          ],
        ]);
        expect(await announced(credentialId)).toEqual([]);
      } finally {
        stop();
      }
    });
  });

  describe('ConnectPay', () => {
    let cp: TestPki;

    beforeAll(async () => {
      cp = await buildTestPki('ConnectPay Test');
    });

    it('checks a chain without storing anything and reports each finding', async () => {
      const before = await t.dataSource.query('SELECT count(*)::int AS n FROM credentials');
      const good = await t.http
        .post('/v1/credentials/connectpay/chain-check')
        .set(admin())
        .send({ environment: 'stage', chainPem: cp.chain, privateKeyPem: cp.leaf.privateKeyPem });
      expect(good.status).toBe(200);
      // The test PKI's root is no public CA: a warning, not a refusal.
      expect(good.body).toMatchObject({
        ok: true,
        findings: [
          expect.objectContaining({ code: 'ROOT_NOT_PUBLICLY_TRUSTED', severity: 'warning' }),
          expect.objectContaining({ code: 'REVOCATION_UNKNOWN', severity: 'warning' }),
        ],
      });
      expect(good.body.certificates).toHaveLength(3);

      const reversed = await t.http
        .post('/v1/credentials/connectpay/chain-check')
        .set(admin())
        .send({ environment: 'stage', chainPem: cp.root.pem + cp.intermediate.pem + cp.leaf.pem });
      expect(reversed.body.ok).toBe(false);
      expect(reversed.body.findings.map((f: { code: string }) => f.code)).toEqual(
        expect.arrayContaining(['WRONG_ORDER', 'SUGGESTED_ORDER', 'LEAF_SELF_SIGNED']),
      );
      expect(await t.dataSource.query('SELECT count(*)::int AS n FROM credentials')).toEqual(before);
    });

    it('refuses to store a chain that breaks a rule (422 CHAIN_REJECTED) and writes nothing', async () => {
      const before = await t.dataSource.query(
        'SELECT (SELECT count(*) FROM credentials)::int AS c, (SELECT count(*) FROM credential_secrets)::int AS s',
      );
      const response = await t.http
        .post('/v1/credentials/connectpay/certificate')
        .set(admin())
        .send({
          environment: 'stage',
          chainPem: cp.leaf.pem + cp.intermediate.pem,
          privateKeyPem: cp.leaf.privateKeyPem,
        });
      expect(response.status).toBe(422);
      expect(response.body.error.code).toBe('CHAIN_REJECTED');
      expect(response.body.error.message).toContain('Append the root CA certificate');
      // The test leaf names no CRL: revocation unknown, a warning (test/e2e/chain-revocation.spec.ts checks CRLs).
      expect(response.body.error.details.findings.map((f: { code: string }) => f.code)).toEqual([
        'ROOT_MISSING',
        'REVOCATION_UNKNOWN',
      ]);
      expect(JSON.stringify(response.body)).not.toContain('PRIVATE KEY');
      expect(
        await t.dataSource.query(
          'SELECT (SELECT count(*) FROM credentials)::int AS c, (SELECT count(*) FROM credential_secrets)::int AS s',
        ),
      ).toEqual(before);
    });

    it('stores a good chain, serves the submission .zip in ConnectPay order, and warns when prod reuses the stage leaf', async () => {
      secrets.push(cp.leaf.privateKeyPem);
      const stored = remember(
        await t.http
          .post('/v1/credentials/connectpay/certificate')
          .set(admin())
          .send({ environment: 'stage', chainPem: cp.chain, privateKeyPem: cp.leaf.privateKeyPem }),
      );
      expect(stored.status).toBe(201);
      expect(stored.body.credential).toMatchObject({
        provider: 'connectpay',
        environment: 'stage',
        status: 'active',
        keyAlgorithm: 'RSA-2048',
      });

      const zip = await t.http
        .get(stored.body.credential.downloads.submissionZip)
        .set(admin())
        .buffer(true)
        .parse(binary);
      expect(zip.status).toBe(200);
      expect(zip.headers['content-type']).toBe('application/zip');
      const files = unzipSync(new Uint8Array(zip.body as Buffer));
      expect(Object.keys(files).sort()).toEqual(['1-leaf.pem', '2-intermediate-1.pem', '3-root.pem', 'fullchain.pem']);
      expect(Buffer.from(files['fullchain.pem']).toString()).toBe(cp.chain);
      expect(Buffer.from(files['1-leaf.pem']).toString()).toBe(cp.leaf.pem);
      expect(Buffer.from(files['3-root.pem']).toString()).toBe(cp.root.pem);
      for (const content of Object.values(files)) expect(Buffer.from(content).toString()).not.toContain('PRIVATE KEY');

      const prodCheck = await t.http
        .post('/v1/credentials/connectpay/chain-check')
        .set(admin())
        .send({ environment: 'prod', chainPem: cp.chain });
      expect(prodCheck.body.ok).toBe(true);
      expect(prodCheck.body.findings.map((f: { code: string }) => f.code)).toEqual([
        'ROOT_NOT_PUBLICLY_TRUSTED',
        'REVOCATION_UNKNOWN',
        'SAME_CERTIFICATE_STAGE_AND_PROD',
      ]);
    });

    it('stores the DevApp client, the webhook token, and generates a Merchant API signing key whose public key downloads', async () => {
      const client = remember(
        await t.http.post('/v1/credentials/connectpay/api-client').set(admin()).send({
          environment: 'stage',
          clientKey: 'ck-live-1234567890',
          clientSecret: 'cs-super-secret-value-9876',
          brandId: 'brand-7',
        }),
      );
      secrets.push('ck-live-1234567890', 'cs-super-secret-value-9876');
      expect(client.status).toBe(201);
      expect(client.body.hints).toEqual({ clientKey: '…7890', clientSecret: '…9876' });
      expect(client.body.attributes).toEqual({ brandId: 'brand-7' });

      const token = '3f2b9c1e-7d4a-4e5f-8a9b-0c1d2e3f4a5b';
      secrets.push(token);
      const webhook = remember(
        await t.http
          .post('/v1/credentials/connectpay/webhook-secret')
          .set(admin())
          .send({ environment: 'stage', secretToken: token }),
      );
      expect(webhook.status).toBe(201);
      const shortToken = await t.http
        .post('/v1/credentials/connectpay/webhook-secret')
        .set(admin())
        .send({ environment: 'stage', secretToken: 'short' });
      expect(shortToken.status).toBe(400);
      expect(shortToken.body.error.details[0].message).toContain('exactly 36 characters');

      const key = remember(
        await t.http
          .post('/v1/credentials/connectpay/merchant-signing-key')
          .set(admin())
          .send({ environment: 'stage' }),
      );
      expect(key.status).toBe(201);
      expect(key.body.keyAlgorithm).toBe('RSA-2048');
      const publicKey = await t.http.get(key.body.downloads.publicKey).set(admin()).buffer(true).parse(binary);
      expect(publicKey.status).toBe(200);
      const pem = publicKey.body.toString();
      expect(pem).toMatch(/^-----BEGIN PUBLIC KEY-----/);
      expect(openssl(['pkey', '-pubin', '-noout', '-text'], pem)).toMatch(/Public-Key: \(2048 bit\)/);
      const material = await t.app.get(CredentialVault).activeMaterial('connectpay', 'stage', 'merchant_signing_key');
      secrets.push(material!.secret.privateKeyPem);
      const derived = execFileSync('openssl', ['pkey', '-pubout'], {
        input: material!.secret.privateKeyPem,
        encoding: 'utf8',
      });
      expect(derived).toBe(pem);
    });
  });

  describe('D24 keys', () => {
    it('stores the three keys, shows only hints, and rotates on the next store', async () => {
      const first = remember(
        await t.http.post('/v1/credentials/d24/keys').set(admin()).send({
          environment: 'stg',
          apiKey: 'd24-login-key-0001',
          apiPassphrase: 'd24-passphrase-0001',
          apiSignature: 'd24-hmac-signature-secret-0001',
          readOnlyKey: 'd24-readonly-0001',
        }),
      );
      secrets.push('d24-login-key-0001', 'd24-passphrase-0001', 'd24-hmac-signature-secret-0001', 'd24-readonly-0001');
      expect(first.status).toBe(201);
      expect(first.body).toMatchObject({ status: 'active', hints: { apiKey: '…0001', apiSignature: '…0001' } });

      const second = remember(
        await t.http.post('/v1/credentials/d24/keys').set(admin()).send({
          environment: 'stg',
          apiKey: 'd24-login-key-0002',
          apiPassphrase: 'd24-passphrase-0002',
          apiSignature: 'd24-hmac-signature-secret-0002',
        }),
      );
      secrets.push('d24-login-key-0002', 'd24-passphrase-0002', 'd24-hmac-signature-secret-0002');
      expect(second.body.replacesId).toBe(first.body.id);
      const material = await t.app.get(CredentialVault).activeMaterial('d24', 'stg', 'api_keys');
      expect(material?.secret).toEqual({
        apiKey: 'd24-login-key-0002',
        apiPassphrase: 'd24-passphrase-0002',
        apiSignature: 'd24-hmac-signature-secret-0002',
      });
    });

    it('refuses keys longer than D24 allows, naming the field, without echoing it', async () => {
      const response = await t.http
        .post('/v1/credentials/d24/keys')
        .set(admin())
        .send({
          environment: 'stg',
          apiKey: 'k'.repeat(33),
          apiPassphrase: 'p'.repeat(40),
          apiSignature: 'secret-sig-xyz',
        });
      expect(response.status).toBe(400);
      expect(response.body.error.details.map((d: { field: string }) => d.field).sort()).toEqual([
        'apiKey',
        'apiPassphrase',
      ]);
      expect(JSON.stringify(response.body)).not.toContain('k'.repeat(33));
      expect(JSON.stringify(response.body)).not.toContain('secret-sig-xyz');
    });
  });

  describe('lifecycle', () => {
    it('lists with filters, revokes (never served again), and keeps an append-only audit trail', async () => {
      const d24 = await t.http.get('/v1/credentials?provider=d24&status=active').set(admin());
      expect(d24.status).toBe(200);
      expect(d24.body).toHaveLength(1);
      const id = d24.body[0].id;
      const revoked = await t.http.post(`/v1/credentials/${id}/revoke`).set(admin());
      expect(revoked.body.status).toBe('revoked');
      expect(await t.app.get(CredentialVault).activeMaterial('d24', 'stg', 'api_keys')).toBeNull();
      expect((await t.http.post(`/v1/credentials/${id}/revoke`).set(admin())).status).toBe(200);

      await expect(t.dataSource.query(`UPDATE credential_events SET type = 'x'`)).rejects.toThrow(/append-only/);
      await expect(t.dataSource.query(`DELETE FROM credential_events`)).rejects.toThrow(/append-only/);
      await expect(t.dataSource.query(`TRUNCATE credential_events CASCADE`)).rejects.toThrow(/append-only/);

      const bad = await t.http.get('/v1/credentials?provider=paypal').set(admin());
      expect(bad.status).toBe(400);
    });

    it('marks certificates expiring and expired, and readiness reports degraded (still 200) naming them', async () => {
      const vault = t.app.get(CredentialVault);
      const active = (
        await vault.list({
          provider: 'connectpay',
          environment: 'stage',
          kind: 'mtls_client_certificate',
          status: 'active',
        })
      )[0];
      await t.dataSource.query(`UPDATE credentials SET not_after = now() + interval '5 days' WHERE id = $1`, [
        active.id,
      ]);
      await t.app.get(CredentialExpiryJob).run();
      expect((await vault.get(active.id)).status).toBe('expiring');

      const ready = await t.http.get('/health/ready');
      expect(ready.status).toBe(200);
      expect(ready.body.details.credentials).toMatchObject({
        status: 'up',
        degraded: true,
        expiringSoon: [expect.objectContaining({ id: active.id, name: active.label })],
      });

      const soon = await t.http.get('/v1/credentials?expiringWithinDays=7').set(admin());
      expect(soon.body.map((c: { id: string }) => c.id)).toEqual([active.id]);

      await t.dataSource.query(`UPDATE credentials SET not_after = now() - interval '1 hour' WHERE id = $1`, [
        active.id,
      ]);
      await t.app.get(CredentialExpiryJob).run();
      expect((await vault.get(active.id)).status).toBe('expired');
      const events = await t.http.get(`/v1/credentials/${active.id}/events`).set(admin());
      // The chain's renewal is announced once, when it enters its window (the autopilot: what to do, no successor).
      expect(events.body.map((e: { type: string }) => e.type)).toEqual([
        'created',
        'activated',
        'expiring',
        'renewal_due',
        'expired',
      ]);
      // Announced once per change, not on every hourly run.
      await t.app.get(CredentialExpiryJob).run();
      expect((await announced(active.id)).map(([type, data]) => [type, data.provider, typeof data.expiresAt])).toEqual([
        ['credential.expiring', 'connectpay', 'string'],
        ['credential.expired', 'connectpay', 'string'],
      ]);
    });
  });

  describe('secrets stay sealed', () => {
    it('no table holds a secret value or private key in clear', async () => {
      expect(secrets.length).toBeGreaterThanOrEqual(10);
      const tables: Array<{ table_name: string }> = await t.dataSource.query(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`,
      );
      let dump = '';
      let sealedValues = 0;
      for (const { table_name } of tables) {
        const rows: Array<{ row: string }> = await t.dataSource.query(
          `SELECT row_to_json(t)::text AS row FROM "${table_name}" t`,
        );
        const text = rows.map((r) => r.row).join('\n');
        dump += text;
        // bytea columns appear as "\\x…" hex in JSON: search their raw bytes too.
        for (const match of text.matchAll(/\\\\x([0-9a-f]+)/g)) {
          dump += Buffer.from(match[1], 'hex').toString('latin1');
          sealedValues++;
        }
      }
      expect(sealedValues).toBeGreaterThanOrEqual(20); // wrapped keys and ciphertexts were decoded and searched
      expect(dump).toContain('"master_key_id":"mk_'); // the sealed rows are really there
      for (const secret of secrets) {
        for (const probe of probesOf(secret)) expect(dump).not.toContain(probe);
      }
    });

    it('no response and no log line carries one', () => {
      const everything = JSON.stringify(responses) + '\n' + t.logs.text;
      expect(t.logs.lines.length).toBeGreaterThan(10);
      for (const secret of secrets) {
        for (const probe of probesOf(secret)) expect(everything).not.toContain(probe);
      }
    });
  });
});

/** A secret itself, and for a PEM key a slice of its base64 body (which is what a leak would show). */
function probesOf(secret: string): string[] {
  if (!secret.includes('-----BEGIN')) return [secret];
  const body = secret.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  return [body.slice(100, 164), body.slice(-120, -60)];
}

/** Collects a download's bytes whatever its content type. */
function binary(response: SuperAgentResponse, done: (error: Error | null, body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  const stream = response as unknown as NodeJS.ReadableStream;
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  stream.on('end', () => done(null, Buffer.concat(chunks)));
}
