import 'reflect-metadata'; // @peculiar/x509 needs it before it loads
import { X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { generateRsaKeyPair } from '../../src/credentials/crypto/key-generation';
import { checkCallbackCsr, parseAllowedCommonNames } from '../../src/providers/verestro/verestro.callback-csr-rules';
import type { CsrFacts } from '../../src/credentials/x509/x509';
import {
  createCertificateAuthority,
  EKU_CLIENT_AUTH,
  KEY_USAGE,
  readCsr,
  signCertificateRequest,
  usages,
} from '../../src/credentials/x509/x509';
import { opensslCsr, opensslText } from '../support/csr';

const DAY = 86_400_000;

async function problems(options: Parameters<typeof opensslCsr>[0], allowed: string[] = []): Promise<string[]> {
  const facts = await readCsr(opensslCsr(options).csrPem);
  expect(facts).not.toBeNull();
  return checkCallbackCsr(facts as CsrFacts, { allowedCommonNames: allowed }).map((v) => `${v.field}:${v.code}`);
}

const facts = (
  subject: Array<Array<[string, string]>>,
  key: CsrFacts['key'] = { type: 'rsa', bits: 2048 },
): CsrFacts => ({ key, subject, signatureValid: true });
const codes = (csr: CsrFacts, allowed: string[] = []) =>
  checkCallbackCsr(csr, { allowedCommonNames: allowed }).map((v) => `${v.field}:${v.code}`);

describe('the Verestro callback CA policy (what our callback CA agrees to sign)', () => {
  it.each([
    ['the e2e helper: openssl RSA-2048, /CN=Verestro Callbacks Test', { subject: '/CN=Verestro Callbacks Test' }],
    ["the simulator's subject", { subject: '/C=PL/O=Verestro Simulator/CN=Verestro Simulator Callbacks' }],
    ['every allowed attribute', { subject: '/C=PL/ST=Mazowieckie/L=Warsaw/O=Verestro/OU=Callbacks/CN=V-Callbacks' }],
    ['EC P-256', { subject: '/CN=ec256', key: 'ec:P-256' }],
    ['EC P-384', { subject: '/CN=ec384', key: 'ec:P-384' }],
    ['EC P-521', { subject: '/CN=ec521', key: 'ec:P-521' }],
  ])('accepts %s', async (_name, options) => {
    expect(await problems(options)).toEqual([]);
  });

  it.each([
    ['RSA-1024', { subject: '/CN=weak', key: 'rsa:1024' }, 'csrPem.publicKey:KEY_TOO_SHORT'],
    ['EC on secp256k1', { subject: '/CN=k1', key: 'ec:secp256k1' }, 'csrPem.publicKey:CURVE_NOT_ALLOWED'],
    ['Ed25519', { subject: '/CN=ed', key: 'ed25519' }, 'csrPem.publicKey:KEY_TYPE_NOT_ALLOWED'],
    ['DSA', { subject: '/CN=dsa', key: 'dsa' }, 'csrPem.publicKey:KEY_TYPE_NOT_ALLOWED'],
    ['two CNs', { subject: '/CN=a/CN=b' }, 'csrPem.subject.CN:CN_REPEATED'],
    ['no CN', { subject: '/O=Verestro' }, 'csrPem.subject.CN:CN_MISSING'],
    ['a comma in a value', { subject: '/O=Verestro\\, Inc./CN=cb' }, 'csrPem.subject.O:COMMA_NOT_ALLOWED'],
    ['a wildcard', { subject: '/CN=*.verestro.com' }, 'csrPem.subject.CN:WILDCARD_NOT_ALLOWED'],
    [
      'emailAddress',
      { subject: '/CN=cb/emailAddress=ops@verestro.example' },
      'csrPem.subject:SUBJECT_ATTRIBUTE_NOT_ALLOWED',
    ],
    ['serialNumber', { subject: '/CN=cb/serialNumber=42' }, 'csrPem.subject:SUBJECT_ATTRIBUTE_NOT_ALLOWED'],
    ['a multi-valued name part', { subject: '/CN=cb+OU=x', multivalueRdn: true }, 'csrPem.subject:MULTI_VALUED_RDN'],
  ])(
    'refuses %s',
    async (_name, options, expected) => {
      expect(await problems(options)).toContain(expected);
    },
    30_000,
  );

  it('reports every problem at once', async () => {
    expect(await problems({ subject: '/CN=a/CN=b/O=x\\, y/emailAddress=a@b.example', key: 'rsa:1024' })).toEqual(
      expect.arrayContaining([
        'csrPem.publicKey:KEY_TOO_SHORT',
        'csrPem.subject.CN:CN_REPEATED',
        'csrPem.subject.O:COMMA_NOT_ALLOWED',
        'csrPem.subject:SUBJECT_ATTRIBUTE_NOT_ALLOWED',
      ]),
    );
  });

  it('enforces VERESTRO_CALLBACK_CSR_CN when set', async () => {
    const allowed = parseAllowedCommonNames(' V-Callbacks , V-Callbacks-2 ');
    expect(allowed).toEqual(['V-Callbacks', 'V-Callbacks-2']);
    expect(await problems({ subject: '/CN=V-Callbacks-2' }, allowed)).toEqual([]);
    const refused = checkCallbackCsr(facts([[['CN', 'Someone Else']]]), { allowedCommonNames: allowed });
    expect(refused).toEqual([expect.objectContaining({ field: 'csrPem.subject.CN', code: 'CN_NOT_ALLOWED' })]);
    expect(refused[0].message).toContain('VERESTRO_CALLBACK_CSR_CN');
    expect(parseAllowedCommonNames(undefined)).toEqual([]);
  });

  it('refuses control and invisible formatting characters, empty values and countries that are not two letters, by OID too', () => {
    expect(
      codes(facts([[['CN', 'cb\nx']], [['2.5.4.10', 'evil\u202Egnp.exe']], [['OU', ' ']], [['C', 'POL']]])),
    ).toEqual([
      'csrPem.subject.CN:CONTROL_CHARACTER',
      'csrPem.subject.O:CONTROL_CHARACTER',
      'csrPem.subject.OU:EMPTY_VALUE',
      'csrPem.subject.C:COUNTRY_NOT_TWO_LETTERS',
    ]);
    expect(codes(facts([[['CN', 'cb']]], { type: 'ec' }))).toEqual(['csrPem.publicKey:CURVE_NOT_ALLOWED']);
    // openssl itself refuses a CN over 64 characters; other tools do not.
    expect(codes(facts([[['CN', 'c'.repeat(65)]]]))).toEqual(['csrPem.subject.CN:CN_TOO_LONG']);
    expect(codes(facts([[['CN', '🙂'.repeat(64)]]]))).toEqual([]);
  });

  it('refuses a request whose signature does not verify, and reads nothing from text that is not a CSR', async () => {
    const { csrPem } = opensslCsr({ subject: '/CN=tampered' });
    const der = Buffer.from(csrPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
    der[der.length - 1] ^= 0xff; // the last byte of the signature
    const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    const read = await readCsr(tampered);
    expect(read?.signatureValid).toBe(false);
    expect(codes(read as CsrFacts)).toEqual(['csrPem:NOT_A_VALID_CSR']);
    expect(await readCsr('not a csr')).toBeNull();
    expect(await readCsr('-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n')).toBeNull();
  });
});

describe('signCertificateRequest: the certificate takes only the subject and key of the request', () => {
  let ca: { caPem: string; privateKeyPem: string };

  beforeAll(async () => {
    const keys = await generateRsaKeyPair(2048);
    ca = {
      caPem: await createCertificateAuthority('CN=Unit Callback CA,O=payments-backend', keys.keys),
      privateKeyPem: keys.privateKeyPem,
    };
  });

  it('ignores requested extensions: CA:false, clientAuth only, no names, key identifiers, bounded validity (RSA)', async () => {
    const { csrPem } = opensslCsr({
      subject: '/C=PL/O=Verestro/CN=Greedy',
      addext: [
        'basicConstraints=critical,CA:TRUE',
        'keyUsage=critical,keyCertSign,cRLSign',
        'extendedKeyUsage=serverAuth,codeSigning',
        'subjectAltName=DNS:*.bank.example',
      ],
    });
    const pem = (await signCertificateRequest(ca.caPem, ca.privateKeyPem, { csrPem }, 'client')) as string;
    const certificate = new X509Certificate(pem);
    const issuer = new X509Certificate(ca.caPem);
    expect(certificate.verify(issuer.publicKey)).toBe(true);
    expect(certificate.checkIssued(issuer)).toBe(true);
    expect(certificate.subject.split('\n')).toEqual(['C=PL', 'O=Verestro', 'CN=Greedy']);
    expect(certificate.publicKey.export({ format: 'der', type: 'spki' })).toEqual(
      Buffer.from(new x509.Pkcs10CertificateRequest(csrPem).publicKey.rawData),
    );
    expect(usages(certificate)).toEqual({
      isCa: false,
      keyUsage: KEY_USAGE.digitalSignature | KEY_USAGE.keyEncipherment,
      extendedKeyUsage: [EKU_CLIENT_AUTH],
    });
    expect(certificate.subjectAltName).toBeUndefined();
    const parsed = new x509.X509Certificate(pem);
    expect(parsed.extensions.map((e) => e.type).sort()).toEqual(
      ['2.5.29.14', '2.5.29.15', '2.5.29.19', '2.5.29.35', '2.5.29.37'].sort(),
    );
    const aki = parsed.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId;
    expect(aki).toBe(new x509.X509Certificate(ca.caPem).getExtension(x509.SubjectKeyIdentifierExtension)?.keyId);
    const text = opensslText(pem);
    expect(text).toContain('CA:FALSE');
    expect(text).toContain('TLS Web Client Authentication');
    expect(text).not.toContain('Server Authentication');
    expect(text).not.toContain('bank.example');
    const validTo = new Date(certificate.validTo).getTime();
    expect(validTo).toBeLessThanOrEqual(Date.now() + 366 * DAY);
    expect(validTo).toBeGreaterThan(Date.now() + 360 * DAY);
  });

  it('gives an EC key digitalSignature only', async () => {
    const { csrPem } = opensslCsr({ subject: '/CN=ec', key: 'ec:P-256' });
    const certificate = new X509Certificate(
      (await signCertificateRequest(ca.caPem, ca.privateKeyPem, { csrPem }, 'client')) as string,
    );
    expect(usages(certificate)).toEqual({
      isCa: false,
      keyUsage: KEY_USAGE.digitalSignature,
      extendedKeyUsage: [EKU_CLIENT_AUTH],
    });
  });

  it('never outlives the CA', async () => {
    const keys = await generateRsaKeyPair(2048);
    const shortCa = await createCertificateAuthority('CN=Short CA', keys.keys, 0.1); // about 36 days
    const { csrPem } = opensslCsr({ subject: '/CN=cb' });
    const certificate = new X509Certificate(
      (await signCertificateRequest(shortCa, keys.privateKeyPem, { csrPem }, 'client')) as string,
    );
    expect(new Date(certificate.validTo).getTime()).toBe(new Date(new X509Certificate(shortCa).validTo).getTime());
  });
});
