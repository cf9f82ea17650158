import { rootCertificates } from 'node:tls';
import { lintClientChain } from '../../src/providers/connectpay/connectpay.chain-lint';
import type { TestPki } from '../support/pki';
import { buildTestPki, DAY_MS, EKU, issue, selfSigned } from '../support/pki';

const codes = (report: ReturnType<typeof lintClientChain>, severity?: 'error' | 'warning') =>
  report.findings.filter((f) => !severity || f.severity === severity).map((f) => f.code);

describe('ConnectPay chain rules, on a real test PKI', () => {
  let pki: TestPki;

  beforeAll(async () => {
    pki = await buildTestPki();
  });

  it('accepts a complete chain in order with the matching key (warning that a test root is no public CA)', () => {
    const report = lintClientChain(pki.chain, { privateKeyPem: pki.leaf.privateKeyPem });
    expect(report.findings.map((f) => [f.code, f.severity, f.certificateIndex])).toEqual([
      ['ROOT_NOT_PUBLICLY_TRUSTED', 'warning', 2],
    ]);
    expect(report.ok).toBe(true);
    expect(report.certificates.map((c) => c.selfSigned)).toEqual([false, false, true]);
  });

  it('finds the wrong order and suggests the right one', () => {
    const report = lintClientChain(pki.root.pem + pki.leaf.pem + pki.intermediate.pem);
    expect(codes(report, 'error')).toContain('WRONG_ORDER');
    const suggestion = report.findings.find((f) => f.code === 'SUGGESTED_ORDER');
    expect(suggestion?.details).toEqual({ order: [1, 2, 0] });
    expect(report.ok).toBe(false);
  });

  it('finds a missing root', () => {
    const report = lintClientChain(pki.leaf.pem + pki.intermediate.pem);
    expect(codes(report, 'error')).toEqual(['ROOT_MISSING']);
  });

  it('refuses a leaf issued straight by a root: the intermediate is required', async () => {
    const direct = await issue(pki.root, { subject: 'CN=direct.example.com' });
    const report = lintClientChain(direct.pem + pki.root.pem);
    expect(report.findings.filter((f) => f.severity === 'error').map((f) => [f.code, f.certificateIndex])).toEqual([
      ['INTERMEDIATE_MISSING', 1],
    ]);
    expect(report.findings.find((f) => f.code === 'INTERMEDIATE_MISSING')?.message).toMatch(
      /leaf, intermediate and root/,
    );
    expect(report.ok).toBe(false);
  });

  it('does not warn about a root in the public trust store', () => {
    // A real public root on its own: the chain is incomplete, but its root is publicly trusted.
    const [publicRoot] = rootCertificates;
    const report = lintClientChain(pki.leaf.pem + publicRoot);
    expect(codes(report)).not.toContain('ROOT_NOT_PUBLICLY_TRUSTED');
  });

  it('finds a chain that is only a leaf', () => {
    expect(codes(lintClientChain(pki.leaf.pem), 'error')).toEqual(['CHAIN_TOO_SHORT']);
  });

  it('refuses a self-signed leaf', async () => {
    const self = await selfSigned({ subject: 'CN=payouts.example.com' });
    expect(codes(lintClientChain(self.pem), 'error')).toEqual(['CHAIN_TOO_SHORT', 'LEAF_SELF_SIGNED']);
  });

  it("refuses Let's Encrypt anywhere in the chain", async () => {
    const isrg = await selfSigned({ subject: 'CN=ISRG Root X1,O=Internet Security Research Group,C=US', ca: true });
    const r3 = await issue(isrg, { subject: "CN=R3,O=Let's Encrypt,C=US", ca: true });
    const leaf = await issue(r3, { subject: 'CN=payouts.example.com' });
    const report = lintClientChain(leaf.pem + r3.pem + isrg.pem);
    expect(codes(report, 'error')).toEqual(['LETS_ENCRYPT', 'LETS_ENCRYPT', 'LETS_ENCRYPT']);
  });

  it('finds expired and not-yet-valid certificates by index', async () => {
    const expired = await issue(pki.intermediate, {
      subject: 'CN=old.example.com',
      notBefore: new Date(Date.now() - 400 * DAY_MS),
      notAfter: new Date(Date.now() - DAY_MS),
    });
    const future = await issue(pki.intermediate, {
      subject: 'CN=new.example.com',
      notBefore: new Date(Date.now() + 10 * DAY_MS),
    });
    const expiredReport = lintClientChain(expired.pem + pki.intermediate.pem + pki.root.pem);
    expect(
      expiredReport.findings.filter((f) => f.severity === 'error').map((f) => [f.code, f.certificateIndex]),
    ).toEqual([['EXPIRED', 0]]);
    expect(codes(lintClientChain(future.pem + pki.intermediate.pem + pki.root.pem), 'error')).toEqual([
      'NOT_YET_VALID',
    ]);
  });

  it('warns when the leaf expires within 30 days', async () => {
    const soon = await issue(pki.intermediate, {
      subject: 'CN=soon.example.com',
      notAfter: new Date(Date.now() + 10 * DAY_MS),
    });
    const report = lintClientChain(soon.pem + pki.intermediate.pem + pki.root.pem);
    expect(report.ok).toBe(true);
    expect(codes(report, 'warning')).toEqual(['ROOT_NOT_PUBLICLY_TRUSTED', 'EXPIRES_SOON']);
  });

  it('finds a key that does not match the leaf, and an unreadable key', async () => {
    const other = await buildTestPki('Other');
    expect(codes(lintClientChain(pki.chain, { privateKeyPem: other.leaf.privateKeyPem }), 'error')).toEqual([
      'KEY_MISMATCH',
    ]);
    expect(codes(lintClientChain(pki.chain, { privateKeyPem: 'not a key' }), 'error')).toEqual([
      'PRIVATE_KEY_UNREADABLE',
    ]);
  });

  it('refuses a leaf not usable for TLS client authentication', async () => {
    const server = await issue(pki.intermediate, {
      subject: 'CN=server.example.com',
      extendedKeyUsages: [EKU.serverAuth],
    });
    expect(codes(lintClientChain(server.pem + pki.intermediate.pem + pki.root.pem), 'error')).toEqual([
      'NOT_CLIENT_AUTH',
    ]);
  });

  it('refuses an issuer that is not a CA', async () => {
    const notCa = await issue(pki.root, { subject: 'CN=Not A CA' });
    const leaf = await issue(notCa, { subject: 'CN=payouts.example.com' });
    expect(codes(lintClientChain(leaf.pem + notCa.pem + pki.root.pem), 'error')).toEqual(['ISSUER_NOT_CA']);
  });

  it('finds text that is not PEM, and a private key pasted into the chain', () => {
    expect(codes(lintClientChain('hello'), 'error')).toEqual(['NOT_PEM']);
    expect(codes(lintClientChain('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'), 'error')).toEqual([
      'NOT_PEM',
    ]);
    expect(codes(lintClientChain(pki.chain + pki.leaf.privateKeyPem), 'error')).toEqual(['PRIVATE_KEY_IN_CHAIN']);
    expect(codes(lintClientChain('subject=CN=x\n' + pki.chain), 'warning')).toEqual([
      'STRAY_TEXT',
      'ROOT_NOT_PUBLICLY_TRUSTED',
    ]);
  });
});
