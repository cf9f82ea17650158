import 'reflect-metadata'; // @peculiar/x509's dependency injection needs it loaded first.
import type { KeyObject, X509Certificate } from 'node:crypto';
import { createPrivateKey, createPublicKey, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import type { CertificateFacts } from '../domain/credential';
import { RSA_SIGNING } from '../crypto/key-generation';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/** Subject attributes in the order openssl's `-subj` writes them. */
export const SUBJECT_OIDS = {
  C: '2.5.4.6',
  ST: '2.5.4.8',
  L: '2.5.4.7',
  O: '2.5.4.10',
  OU: '2.5.4.11',
  CN: '2.5.4.3',
  emailAddress: '1.2.840.113549.1.9.1',
} as const;
export type SubjectField = keyof typeof SUBJECT_OIDS;
export type SubjectAttributes = Partial<Record<SubjectField, string>>;

export interface PemBlock {
  label: string;
  der: Buffer;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([A-Za-z0-9+/=\r\n]+?)-----END \1-----/g;

/** Every PEM block in a text, plus whether anything other than PEM blocks and whitespace was there. */
export function pemBlocks(text: string): { blocks: PemBlock[]; strayText: boolean } {
  const blocks: PemBlock[] = [];
  let rest = text;
  for (const match of text.matchAll(PEM_BLOCK)) {
    blocks.push({ label: match[1], der: Buffer.from(match[2].replace(/\s+/g, ''), 'base64') });
    rest = rest.replace(match[0], '');
  }
  return { blocks, strayText: rest.trim().length > 0 };
}

export function certificatePem(certificate: X509Certificate): string {
  return certificate.toString().replace(/\r\n/g, '\n').trimEnd() + '\n';
}

export function certificateFacts(certificate: X509Certificate): CertificateFacts {
  return {
    subject: oneLineName(certificate.subject),
    issuer: oneLineName(certificate.issuer),
    serialNumber: certificate.serialNumber.toLowerCase(),
    fingerprintSha256: certificate.fingerprint256.replace(/:/g, '').toLowerCase(),
    notBefore: new Date(certificate.validFrom),
    notAfter: new Date(certificate.validTo),
  };
}

/** Node prints names one attribute per line; a single line reads better in lists and logs. */
function oneLineName(name: string): string {
  return name.split('\n').filter(Boolean).join(', ');
}

export function subjectOfCertificate(certificate: X509Certificate): SubjectAttributes {
  return attributesOf(new x509.X509Certificate(certificate.raw).subjectName);
}

export function subjectOfCsr(pem: string): SubjectAttributes {
  return attributesOf(new x509.Pkcs10CertificateRequest(pem).subjectName);
}

function attributesOf(name: x509.Name): SubjectAttributes {
  const attributes: SubjectAttributes = {};
  for (const [field, oid] of Object.entries(SUBJECT_OIDS) as Array<[SubjectField, string]>) {
    const [value] = name.getField(oid);
    if (value !== undefined) attributes[field] = value;
  }
  return attributes;
}

/** A PKCS#10 request signed with SHA-256 RSA, subject attributes in the given order. */
export async function createCsr(subject: SubjectAttributes, keys: webcrypto.CryptoKeyPair): Promise<string> {
  const name = new x509.Name(
    (Object.keys(SUBJECT_OIDS) as SubjectField[])
      .filter((field) => subject[field] !== undefined)
      .map((field) => ({ [SUBJECT_OIDS[field]]: [subject[field] as string] })),
  );
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name,
    keys: keys,
    signingAlgorithm: RSA_SIGNING,
  });
  return csr.toString('pem').replace(/\r\n/g, '\n').trimEnd() + '\n';
}

export function privateKeyFromPem(pem: string): KeyObject | null {
  try {
    const key = createPrivateKey(pem);
    return key.type === 'private' ? key : null;
  } catch {
    return null;
  }
}

export function rsaModulusBits(key: KeyObject): number | null {
  return key.asymmetricKeyType === 'rsa' ? (key.asymmetricKeyDetails?.modulusLength ?? null) : null;
}

export function keyDescription(key: KeyObject): string {
  const bits = rsaModulusBits(key);
  return bits ? `RSA-${bits}` : String(key.asymmetricKeyType ?? 'unknown').toUpperCase();
}

/** Key usage and extended key usage, read with @peculiar/x509 (Node exposes only the extended ones). */
export function usages(certificate: X509Certificate): {
  keyUsage: x509.KeyUsageFlags | null;
  extendedKeyUsage: string[] | null;
  isCa: boolean | null;
} {
  const parsed = new x509.X509Certificate(certificate.raw);
  const keyUsage = parsed.getExtension(x509.KeyUsagesExtension);
  const extended = parsed.getExtension(x509.ExtendedKeyUsageExtension);
  const basic = parsed.getExtension(x509.BasicConstraintsExtension);
  return {
    keyUsage: keyUsage ? keyUsage.usages : null,
    extendedKeyUsage: extended ? extended.usages.map(String) : null,
    isCa: basic ? basic.ca : null,
  };
}

export const KEY_USAGE = x509.KeyUsageFlags;
export const EKU_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

const DAY_MS = 86_400_000;

/** A self-signed CA of the product's own (it signs the certificate Verestro presents on callbacks). */
export async function createCertificateAuthority(
  subject: string,
  keys: webcrypto.CryptoKeyPair,
  years = 5,
): Promise<string> {
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    name: subject,
    keys: keys,
    notBefore: new Date(Date.now() - DAY_MS),
    notAfter: new Date(Date.now() + years * 365 * DAY_MS),
    signingAlgorithm: RSA_SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return certificate.toString('pem').replace(/\r\n/g, '\n').trimEnd() + '\n';
}

/** The public key a CSR carries, as Node reads its SubjectPublicKeyInfo. */
export interface CsrKey {
  /** Node's asymmetricKeyType: rsa, rsa-pss, ec, dsa, ed25519, … */
  type: string;
  /** RSA modulus length. */
  bits?: number;
  /** EC named curve in OpenSSL's naming (prime256v1, secp384r1, secp521r1, …); absent for explicit parameters. */
  curve?: string;
}

/** What a CA policy needs to know about a certificate request, read without trusting it. */
export interface CsrFacts {
  key: CsrKey;
  /** The subject's RDNs in order; each RDN lists its attributes as [short name or OID, value]. */
  subject: Array<Array<[string, string]>>;
  /** Whether the request's own signature verifies; null when this key type cannot be checked here. */
  signatureValid: boolean | null;
}

/** Parses a PEM certificate request for policy checks; null when it is not one. */
export async function readCsr(pem: string): Promise<CsrFacts | null> {
  let csr: x509.Pkcs10CertificateRequest;
  let key: KeyObject;
  try {
    csr = new x509.Pkcs10CertificateRequest(pem);
    key = createPublicKey({ key: Buffer.from(csr.publicKey.rawData), format: 'der', type: 'spki' });
  } catch {
    return null;
  }
  const details = key.asymmetricKeyDetails ?? {};
  let signatureValid: boolean | null;
  try {
    signatureValid = await csr.verify();
  } catch {
    // WebCrypto cannot verify DSA or unusual curves; the key policy refuses those anyway.
    signatureValid = null;
  }
  return {
    key: { type: key.asymmetricKeyType ?? 'unknown', bits: details.modulusLength, curve: details.namedCurve },
    subject: csr.subjectName
      .toJSON()
      .map((rdn) =>
        Object.entries(rdn).flatMap(([type, values]) => values.map((value): [string, string] => [type, value])),
      ),
    signatureValid,
  };
}

/**
 * Signs a certificate request with a CA key: a client certificate (from a provider's CSR) or a
 * server certificate for loopback names. Returns null when the CSR's own signature does not verify.
 *
 * Only the request's subject and public key are taken: whatever extensions it asks for (CA:true,
 * other names, other usages) are ignored, and the certificate states its own: not a CA, the key
 * usages the key type allows, one extended usage, key identifiers, and a validity that never
 * outlives the CA.
 */
export async function signCertificateRequest(
  caPem: string,
  caPrivateKeyPem: string,
  request: { csrPem: string } | { subject: string; publicKeyPem: string },
  usage: 'client' | 'server',
  days = 365,
): Promise<string | null> {
  const ca = new x509.X509Certificate(caPem);
  const signingKey = await webcrypto.subtle.importKey(
    'pkcs8',
    Buffer.from(caPrivateKeyPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64'),
    RSA_SIGNING,
    false,
    ['sign'],
  );
  let subject: x509.Name | string;
  let publicKey: x509.PublicKey;
  if ('csrPem' in request) {
    const csr = new x509.Pkcs10CertificateRequest(request.csrPem);
    if (!(await csr.verify())) return null;
    subject = csr.subjectName;
    publicKey = csr.publicKey;
  } else {
    subject = request.subject;
    publicKey = new x509.PublicKey(
      Buffer.from(request.publicKeyPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64'),
    );
  }
  const keyType = createPublicKey({
    key: Buffer.from(publicKey.rawData),
    format: 'der',
    type: 'spki',
  }).asymmetricKeyType;
  // keyEncipherment means RSA key transport; an EC key can only sign (key agreement is not used by TLS 1.2+ ECDHE).
  const keyUsage = x509.KeyUsageFlags.digitalSignature | (keyType === 'rsa' ? x509.KeyUsageFlags.keyEncipherment : 0);
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(keyUsage, true),
    new x509.ExtendedKeyUsageExtension([
      usage === 'client' ? x509.ExtendedKeyUsage.clientAuth : x509.ExtendedKeyUsage.serverAuth,
    ]),
    await x509.SubjectKeyIdentifierExtension.create(publicKey),
    // A renewed CA keeps the same name; the key identifier lets verifiers pick the right one.
    await x509.AuthorityKeyIdentifierExtension.create(ca.publicKey),
  ];
  if (usage === 'server') {
    extensions.push(
      new x509.SubjectAlternativeNameExtension([
        { type: 'dns', value: 'localhost' },
        { type: 'ip', value: '127.0.0.1' },
      ]),
    );
  }
  const now = Date.now();
  const certificate = await x509.X509CertificateGenerator.create({
    subject,
    // The CA's name exactly as encoded in its certificate, so name chaining never depends on re-encoding.
    issuer: ca.subjectName,
    publicKey,
    signingKey: signingKey,
    // A day of slack for clocks behind ours, never before the CA itself; never after the CA expires.
    notBefore: new Date(Math.max(now - DAY_MS, ca.notBefore.getTime())),
    notAfter: new Date(Math.min(now + days * DAY_MS, ca.notAfter.getTime())),
    signingAlgorithm: RSA_SIGNING,
    extensions,
  });
  return certificate.toString('pem').replace(/\r\n/g, '\n').trimEnd() + '\n';
}
