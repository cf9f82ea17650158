/**
 * A real test PKI built for the tests with @peculiar/x509 (not with the product's code):
 * root → intermediate → leaf, and the broken variants an operator might import.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

// Node's own WebCrypto type: @peculiar/x509 names the DOM's CryptoKeyPair, which the project's
// libraries (ES2023, no DOM) do not declare, so its `keys` type would silently be `any`.
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const ALGORITHM = {
  name: 'RSASSA-PKCS1-v1_5',
  hash: 'SHA-256',
  publicExponent: new Uint8Array([1, 0, 1]),
  modulusLength: 2048,
};
const DAY = 86_400_000;

export interface Issued {
  certificate: x509.X509Certificate;
  keys: CryptoKeyPair;
  pem: string;
  privateKeyPem: string;
}

export async function rsaKeys(): Promise<CryptoKeyPair> {
  return webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
}

export async function privateKeyPem(keys: CryptoKeyPair): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  return `-----BEGIN PRIVATE KEY-----\n${der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '')}\n-----END PRIVATE KEY-----\n`;
}

function pemOf(certificate: x509.X509Certificate): string {
  return certificate.toString('pem').replace(/\r\n/g, '\n').trimEnd() + '\n';
}

async function issued(certificate: x509.X509Certificate, keys: CryptoKeyPair): Promise<Issued> {
  return { certificate, keys, pem: pemOf(certificate), privateKeyPem: await privateKeyPem(keys) };
}

export interface CertificateOptions {
  subject: string;
  notBefore?: Date;
  notAfter?: Date;
  ca?: boolean;
  /** Extended key usages; clientAuth by default for leaves. */
  extendedKeyUsages?: string[];
  /** Subject alternative names (IP addresses or DNS names), for server certificates. */
  altNames?: string[];
  /** CRL distribution point URLs, for leaves whose revocation is checked. */
  crlUrls?: string[];
  keys?: CryptoKeyPair;
}

export async function selfSigned(options: CertificateOptions): Promise<Issued> {
  const keys = options.keys ?? (await rsaKeys());
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    name: options.subject,
    keys,
    notBefore: options.notBefore ?? new Date(Date.now() - DAY),
    notAfter: options.notAfter ?? new Date(Date.now() + 3650 * DAY),
    signingAlgorithm: ALGORITHM,
    extensions: extensionsFor(options),
  });
  return issued(certificate, keys);
}

export async function issue(issuer: Issued, options: CertificateOptions): Promise<Issued> {
  const keys = options.keys ?? (await rsaKeys());
  const certificate = await x509.X509CertificateGenerator.create({
    subject: options.subject,
    issuer: issuer.certificate.subject,
    publicKey: keys.publicKey,
    signingKey: issuer.keys.privateKey,
    notBefore: options.notBefore ?? new Date(Date.now() - DAY),
    notAfter: options.notAfter ?? new Date(Date.now() + 365 * DAY),
    signingAlgorithm: ALGORITHM,
    extensions: [...extensionsFor(options), await x509.AuthorityKeyIdentifierExtension.create(issuer.certificate)],
  });
  return issued(certificate, keys);
}

/** Signs a CSR as a CA would (Verestro signing our request), keeping the requested subject unless told otherwise. */
export async function signCsr(
  issuer: Issued,
  csrPem: string,
  options: { subject?: string | x509.Name; notBefore?: Date; notAfter?: Date } = {},
): Promise<string> {
  const csr = new x509.Pkcs10CertificateRequest(csrPem);
  const certificate = await x509.X509CertificateGenerator.create({
    subject: options.subject ?? csr.subjectName,
    issuer: issuer.certificate.subject,
    publicKey: csr.publicKey,
    signingKey: issuer.keys.privateKey,
    notBefore: options.notBefore ?? new Date(Date.now() - DAY),
    notAfter: options.notAfter ?? new Date(Date.now() + 365 * DAY),
    signingAlgorithm: ALGORITHM,
    extensions: extensionsFor({ subject: '', extendedKeyUsages: [x509.ExtendedKeyUsage.clientAuth] }),
  });
  return pemOf(certificate);
}

function extensionsFor(options: CertificateOptions): x509.Extension[] {
  if (options.ca) {
    return [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ];
  }
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    new x509.ExtendedKeyUsageExtension(options.extendedKeyUsages ?? [x509.ExtendedKeyUsage.clientAuth]),
  ];
  if (options.crlUrls?.length) extensions.push(new x509.CRLDistributionPointsExtension(options.crlUrls));
  if (options.altNames?.length) {
    extensions.push(
      new x509.SubjectAlternativeNameExtension(
        options.altNames.map((name) =>
          /^[\d.]+$/.test(name) ? { type: 'ip' as const, value: name } : { type: 'dns' as const, value: name },
        ),
      ),
    );
  }
  return extensions;
}

export interface TestPki {
  root: Issued;
  intermediate: Issued;
  leaf: Issued;
  /** leaf → intermediate → root, as ConnectPay wants it. */
  chain: string;
}

export async function buildTestPki(name = 'Test'): Promise<TestPki> {
  const root = await selfSigned({ subject: `CN=${name} Root CA,O=${name} Trust Services,C=LT`, ca: true });
  const intermediate = await issue(root, {
    subject: `CN=${name} Issuing CA 1,O=${name} Trust Services,C=LT`,
    ca: true,
    notAfter: new Date(Date.now() + 1825 * DAY),
  });
  const leaf = await issue(intermediate, { subject: `CN=payouts.example.com,O=Example Payments UAB,C=LT` });
  return { root, intermediate, leaf, chain: leaf.pem + intermediate.pem + root.pem };
}

/** The subject a CSR asks for, to put on a certificate issued for another key. */
export function csrSubject(csrPem: string): x509.Name {
  return new x509.Pkcs10CertificateRequest(csrPem).subjectName;
}

export const EKU = x509.ExtendedKeyUsage;
export const DAY_MS = DAY;

/** A CRL signed by `issuer`, revoking the certificates given (DER). */
export async function signedCrl(
  issuer: Issued,
  revoked: Issued[],
  options: { nextUpdate?: Date; signingKey?: webcrypto.CryptoKey } = {},
): Promise<Buffer> {
  const crl = await x509.X509CrlGenerator.create({
    issuer: issuer.certificate.subject,
    thisUpdate: new Date(Date.now() - DAY),
    nextUpdate: options.nextUpdate ?? new Date(Date.now() + 7 * DAY),
    entries: revoked.map((entry) => ({
      serialNumber: entry.certificate.serialNumber,
      revocationDate: new Date(Date.now() - 3600_000),
      reason: x509.X509CrlReason.keyCompromise,
    })),
    signingKey: options.signingKey ?? issuer.keys.privateKey,
    signingAlgorithm: ALGORITHM,
  });
  return Buffer.from(crl.rawData);
}
