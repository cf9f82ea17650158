import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildTestPki, issue, rsaKeys, signedCrl, type Issued } from '../support/pki';
import type { TestApp } from '../support/test-app';
import { bearer, startTestApp } from '../support/test-app';

/**
 * Revocation of a ConnectPay client leaf, from the CRL it names, served by a real HTTP server on
 * loopback (allowed through REVOCATION_ALLOWED_DESTINATIONS; nothing else is reached).
 */
describe('ConnectPay chain: the leaf checked against its CRL', () => {
  let t: TestApp;
  let server: Server;
  let base: string;
  /** What the CRL server answers per path. */
  const crls = new Map<string, Buffer>();

  beforeAll(async () => {
    server = createServer((request, response) => {
      const body = crls.get(request.url ?? '');
      if (!body) return response.writeHead(404).end();
      response.writeHead(200, { 'Content-Type': 'application/pkix-crl' }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    t = await startTestApp({ env: { REVOCATION_ALLOWED_DESTINATIONS: '127.0.0.0/8' } });
  });
  afterAll(async () => {
    await t.close();
    await new Promise((resolve) => server.close(resolve));
  });

  /** A CA-issued chain whose leaf names `crlUrl`. */
  async function chainWithCrl(crlUrl: string) {
    const pki = await buildTestPki('Revocation');
    const leaf = await issue(pki.intermediate, { subject: 'CN=payouts.example.com,O=Example,C=LT', crlUrls: [crlUrl] });
    return { ...pki, leaf, chain: leaf.pem + pki.intermediate.pem + pki.root.pem };
  }
  const check = (chainPem: string) =>
    t.http
      .post('/v1/credentials/connectpay/chain-check')
      .set(bearer(t.adminKey))
      .send({ environment: 'stage', chainPem });
  const codes = (findings: Array<{ code: string }>) => findings.map((finding) => finding.code);
  const revocationFinding = (findings: Array<{ code: string; message: string }>) =>
    findings.find((finding) => finding.code.startsWith('REVOCATION') || finding.code === 'LEAF_REVOKED');

  it('a leaf its CRL does not list: no revocation finding', async () => {
    const pki = await chainWithCrl(`${base}/good.crl`);
    const other: Issued = await issue(pki.intermediate, { subject: 'CN=other.example.com' });
    crls.set('/good.crl', await signedCrl(pki.intermediate, [other]));
    const response = await check(pki.chain);
    expect(response.status).toBe(200);
    expect(response.body.ok).toBe(true);
    expect(revocationFinding(response.body.findings)).toBeUndefined();
  });

  it('a revoked leaf: an error (LEAF_REVOKED), and storing it is refused with nothing written', async () => {
    const pki = await chainWithCrl(`${base}/revoked.crl`);
    crls.set('/revoked.crl', await signedCrl(pki.intermediate, [pki.leaf]));
    const checked = await check(pki.chain);
    expect(checked.body.ok).toBe(false);
    expect(revocationFinding(checked.body.findings)).toMatchObject({
      code: 'LEAF_REVOKED',
      severity: 'error',
      message: expect.stringMatching(
        /^The leaf certificate \(serial [0-9A-F]+\) was revoked by its CA on .+ Have the CA issue a new one\.$/,
      ),
    });
    const before = await t.dataSource.query('SELECT count(*)::int AS n FROM credentials');
    const stored = await t.http
      .post('/v1/credentials/connectpay/certificate')
      .set(bearer(t.adminKey))
      .send({ environment: 'stage', chainPem: pki.chain, privateKeyPem: pki.leaf.privateKeyPem });
    expect(stored.status).toBe(422);
    expect(stored.body.error.code).toBe('CHAIN_REJECTED');
    expect(codes(stored.body.error.details.findings)).toContain('LEAF_REVOKED');
    expect(await t.dataSource.query('SELECT count(*)::int AS n FROM credentials')).toEqual(before);
  });

  it.each([
    ['unreachable (nothing listens)', 'http://127.0.0.1:9/x.crl', /could not be fetched/],
    ['answered 404', '/missing.crl', /could not be fetched: it answered HTTP 404/],
    ['at a private address not allowed', 'http://10.20.30.40/x.crl', /REVOCATION_ALLOWED_DESTINATIONS/],
  ])('a CRL %s: a warning (REVOCATION_UNKNOWN), never a refusal', async (_case, url, message) => {
    const pki = await chainWithCrl(url.startsWith('/') ? `${base}${url}` : url);
    const response = await check(pki.chain);
    expect(response.body.ok).toBe(true);
    expect(revocationFinding(response.body.findings)).toMatchObject({
      code: 'REVOCATION_UNKNOWN',
      severity: 'warning',
      message: expect.stringMatching(message),
    });
  });

  it('a CRL not signed by the leaf issuer, or out of date, is not trusted: a warning', async () => {
    const forged = await chainWithCrl(`${base}/forged.crl`);
    const stranger = await rsaKeys();
    crls.set('/forged.crl', await signedCrl(forged.intermediate, [], { signingKey: stranger.privateKey }));
    expect(revocationFinding((await check(forged.chain)).body.findings)?.message).toMatch(
      /not signed by the leaf's issuer/,
    );

    const stale = await chainWithCrl(`${base}/stale.crl`);
    crls.set('/stale.crl', await signedCrl(stale.intermediate, [], { nextUpdate: new Date(Date.now() - 3600_000) }));
    expect(revocationFinding((await check(stale.chain)).body.findings)?.message).toMatch(/out of date/);
  });
});
