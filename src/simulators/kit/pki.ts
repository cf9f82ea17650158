/**
 * The simulators' own PKI, written for them (the product's X.509 code is not used here, so the
 * two sides check each other): certificate authorities, server certificates for the HTTPS
 * listeners, client chains from the simulated "public CA", and CSR signing for Verestro.
 */
import 'reflect-metadata';
import { randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

// Node's own WebCrypto types: @peculiar/x509 names the DOM's CryptoKeyPair, which this project's
// libraries (ES2023, no DOM) do not declare, so its `keys` type would silently be `any`.
type KeyPair = webcrypto.CryptoKeyPair;
type PrivateKey = webcrypto.CryptoKey;

const RSA = {
  name: 'RSASSA-PKCS1-v1_5',
  hash: 'SHA-256',
  publicExponent: new Uint8Array([1, 0, 1]),
  modulusLength: 2048,
};
const DAY = 86_400_000;

export interface CertifiedKey {
  certificatePem: string;
  privateKeyPem: string;
}

export interface Authority extends CertifiedKey {
  certificate: x509.X509Certificate;
  signingKey: PrivateKey;
}

function pem(label: string, der: ArrayBuffer): string {
  const base64 = Buffer.from(der)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${base64}\n-----END ${label}-----\n`;
}

function certificatePem(certificate: x509.X509Certificate): string {
  return certificate.toString('pem').replace(/\r\n/g, '\n').trimEnd() + '\n';
}

export async function newKeys(): Promise<KeyPair> {
  return webcrypto.subtle.generateKey(RSA, true, ['sign', 'verify']);
}

async function privateKeyPem(keys: KeyPair): Promise<string> {
  return pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
}

async function importSigningKey(privateKeyPem: string): Promise<PrivateKey> {
  const der = Buffer.from(privateKeyPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  return webcrypto.subtle.importKey('pkcs8', der, RSA, false, ['sign']);
}

export async function authorityFrom(material: CertifiedKey): Promise<Authority> {
  return {
    ...material,
    certificate: new x509.X509Certificate(material.certificatePem),
    signingKey: await importSigningKey(material.privateKeyPem),
  };
}

const serial = () => '01' + randomBytes(15).toString('hex');

function caExtensions(): x509.Extension[] {
  return [
    new x509.BasicConstraintsExtension(true, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
  ];
}

function leafExtensions(usage: 'server' | 'client', names: string[] = []): x509.Extension[] {
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    new x509.ExtendedKeyUsageExtension([
      usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth,
    ]),
  ];
  if (names.length > 0) {
    extensions.push(
      new x509.SubjectAlternativeNameExtension(
        names.map((name) => (/^[\d.]+$/.test(name) ? { type: 'ip', value: name } : { type: 'dns', value: name })),
      ),
    );
  }
  return extensions;
}

export async function createRootAuthority(subject: string, years = 10): Promise<Authority> {
  const keys = await newKeys();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: subject,
    keys,
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + years * 365 * DAY),
    signingAlgorithm: RSA,
    extensions: caExtensions(),
  });
  return {
    certificate,
    signingKey: keys.privateKey,
    certificatePem: certificatePem(certificate),
    privateKeyPem: await privateKeyPem(keys),
  };
}

async function issue(
  issuer: Authority,
  subject: string | x509.Name,
  publicKey: x509.PublicKey | webcrypto.CryptoKey,
  extensions: x509.Extension[],
  days: number,
  serialNumber = serial(),
): Promise<x509.X509Certificate> {
  return x509.X509CertificateGenerator.create({
    serialNumber,
    subject,
    issuer: issuer.certificate.subject,
    publicKey,
    signingKey: issuer.signingKey,
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + days * DAY),
    signingAlgorithm: RSA,
    extensions: [...extensions, await x509.AuthorityKeyIdentifierExtension.create(issuer.certificate)],
  });
}

export async function createIntermediateAuthority(issuer: Authority, subject: string): Promise<Authority> {
  const keys = await newKeys();
  const certificate = await issue(issuer, subject, keys.publicKey, caExtensions(), 5 * 365);
  return {
    certificate,
    signingKey: keys.privateKey,
    certificatePem: certificatePem(certificate),
    privateKeyPem: await privateKeyPem(keys),
  };
}

/** A TLS server certificate for the loopback listeners (localhost and 127.0.0.1). */
export async function issueServerCertificate(issuer: Authority, commonName: string): Promise<CertifiedKey> {
  const keys = await newKeys();
  const certificate = await issue(
    issuer,
    `CN=${commonName}`,
    keys.publicKey,
    leafExtensions('server', ['localhost', '127.0.0.1']),
    825,
  );
  return { certificatePem: certificatePem(certificate), privateKeyPem: await privateKeyPem(keys) };
}

export async function issueClientCertificate(
  issuer: Authority,
  subject: string,
  days = 365,
): Promise<CertifiedKey & { serialNumber: string }> {
  const keys = await newKeys();
  const certificate = await issue(issuer, subject, keys.publicKey, leafExtensions('client'), days);
  return {
    certificatePem: certificatePem(certificate),
    privateKeyPem: await privateKeyPem(keys),
    serialNumber: certificate.serialNumber,
  };
}

export interface ParsedCsr {
  subject: x509.Name;
  subjectText: string;
  publicKey: x509.PublicKey;
  keyBits: number | null;
  signatureValid: boolean;
}

export async function parseCsr(csrPem: string): Promise<ParsedCsr> {
  const csr = new x509.Pkcs10CertificateRequest(csrPem);
  const algorithm = csr.publicKey.algorithm as { modulusLength?: number };
  return {
    subject: csr.subjectName,
    subjectText: csr.subject,
    publicKey: csr.publicKey,
    keyBits: algorithm.modulusLength ?? null,
    signatureValid: await csr.verify(),
  };
}

export async function signRequest(
  issuer: Authority,
  csr: ParsedCsr,
  days = 365,
): Promise<{ certificatePem: string; serialNumber: string }> {
  const certificate = await issue(issuer, csr.subject, csr.publicKey, leafExtensions('client'), days);
  return { certificatePem: certificatePem(certificate), serialNumber: certificate.serialNumber };
}

/** A CSR of the simulator's own (Verestro asks the partner to sign one for its callbacks). */
export async function createRequest(subject: string): Promise<{ csrPem: string; privateKeyPem: string }> {
  const keys = await newKeys();
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: subject, keys, signingAlgorithm: RSA });
  return {
    csrPem: csr.toString('pem').replace(/\r\n/g, '\n').trimEnd() + '\n',
    privateKeyPem: await privateKeyPem(keys),
  };
}

export function subjectField(name: x509.Name, oid: string): string[] {
  return name.getField(oid);
}

export const OID = {
  C: '2.5.4.6',
  ST: '2.5.4.8',
  L: '2.5.4.7',
  O: '2.5.4.10',
  OU: '2.5.4.11',
  CN: '2.5.4.3',
  E: '1.2.840.113549.1.9.1',
} as const;
