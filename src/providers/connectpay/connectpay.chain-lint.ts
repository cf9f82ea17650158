import { X509Certificate } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import type { CertificateFacts } from '../../credentials/domain/credential';
import { EXPIRING_WITHIN_DAYS } from '../../credentials/domain/credential';
import {
  certificateFacts,
  EKU_CLIENT_AUTH,
  KEY_USAGE,
  pemBlocks,
  privateKeyFromPem,
  rsaModulusBits,
  usages,
} from '../../credentials/x509/x509';

/**
 * ConnectPay's rules for an mTLS client chain (seed 003), made executable: a CA-issued full
 * chain in PEM, leaf first, each certificate issued and signed by the next, the root included
 * and last; no self-signed leaf, no Let's Encrypt, nothing expired; and a leaf that fits the
 * private key and may be used for TLS client authentication.
 */
export interface ChainFinding {
  code: string;
  severity: 'error' | 'warning';
  message: string;
  /** 0 is the first certificate in the submitted text (it should be the leaf). */
  certificateIndex: number | null;
  details?: Record<string, unknown>;
}

export interface ChainCertificate extends CertificateFacts {
  index: number;
  selfSigned: boolean;
}

export interface ChainReport {
  ok: boolean;
  certificates: ChainCertificate[];
  findings: ChainFinding[];
  /** The certificates in submission order (leaf → root), parsed; empty when nothing parsed. */
  parsed: X509Certificate[];
}

const LETS_ENCRYPT = /Let's Encrypt|Internet Security Research Group/i;

let publicRoots: Set<string> | undefined;
/** SHA-256 fingerprints (lower-case hex, as certificateFacts writes them) of the roots Node trusts by default. */
function publiclyTrustedRoots(): Set<string> {
  publicRoots ??= new Set(
    rootCertificates.map((pem) => new X509Certificate(pem).fingerprint256.replace(/:/g, '').toLowerCase()),
  );
  return publicRoots;
}
const ANY_EXTENDED_KEY_USAGE = '2.5.29.37.0';

/**
 * Issuer name matches and the issuer's key verifies the signature. (OpenSSL's checkIssued also
 * demands the issuer be a CA, which would hide a self-signed leaf and blur "wrong order" with
 * "issuer is not a CA"; that is reported separately as ISSUER_NOT_CA.)
 */
function issuedBy(child: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return child.issuer === issuer.subject && child.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

const selfSigned = (certificate: X509Certificate) => issuedBy(certificate, certificate);

/** Leaf → root order for a set of certificates, when one exists. */
function orderFor(certificates: X509Certificate[]): number[] | null {
  const issuesAnother = (i: number) => certificates.some((other, j) => j !== i && issuedBy(other, certificates[i]));
  const leaves = certificates.map((_, i) => i).filter((i) => !issuesAnother(i) || certificates.length === 1);
  if (leaves.length !== 1) return null;
  const order = [leaves[0]];
  while (order.length < certificates.length) {
    const current = certificates[order[order.length - 1]];
    if (selfSigned(current)) break;
    const next = certificates.findIndex((candidate, j) => !order.includes(j) && issuedBy(current, candidate));
    if (next < 0) break;
    order.push(next);
  }
  return order.length === certificates.length ? order : null;
}

export function lintClientChain(chainPem: string, options: { privateKeyPem?: string; now?: Date } = {}): ChainReport {
  const now = options.now ?? new Date();
  const findings: ChainFinding[] = [];
  const error = (code: string, certificateIndex: number | null, message: string, details?: Record<string, unknown>) =>
    findings.push({ code, severity: 'error', certificateIndex, message, ...(details ? { details } : {}) });
  const warning = (code: string, certificateIndex: number | null, message: string) =>
    findings.push({ code, severity: 'warning', certificateIndex, message });

  const { blocks, strayText } = pemBlocks(chainPem);
  const certificates: X509Certificate[] = [];
  for (const block of blocks) {
    if (block.label !== 'CERTIFICATE') {
      if (/PRIVATE KEY/.test(block.label)) {
        error(
          'PRIVATE_KEY_IN_CHAIN',
          null,
          'The chain contains a private key. Remove it: the chain you send ConnectPay must hold certificates only.',
        );
      } else {
        error('NOT_PEM', null, `The chain contains a "${block.label}" block. Send only "CERTIFICATE" blocks.`);
      }
      continue;
    }
    try {
      certificates.push(new X509Certificate(block.der));
    } catch {
      error(
        'NOT_PEM',
        certificates.length,
        `Block ${certificates.length + 1} is not a readable X.509 certificate. Export each certificate as PEM (Base64 ASCII).`,
      );
    }
  }
  if (blocks.length === 0) {
    error(
      'NOT_PEM',
      null,
      'No PEM certificate found. Send the chain as X.509 PEM (Base64 ASCII) blocks, leaf first, root last.',
    );
  } else if (strayText) {
    warning(
      'STRAY_TEXT',
      null,
      'There is text between or around the PEM blocks; it will be dropped from the submission.',
    );
  }

  const summaries: ChainCertificate[] = certificates.map((certificate, index) => ({
    index,
    ...certificateFacts(certificate),
    selfSigned: selfSigned(certificate),
  }));

  if (certificates.length > 0) {
    const leaf = certificates[0];
    if (certificates.length < 2) {
      error(
        'CHAIN_TOO_SHORT',
        null,
        'A chain needs the leaf, its intermediate CA certificate(s) and the root. Append the missing CA certificates.',
      );
    }
    // Seed 003: "a CA-issued full certificate chain … with leaf, intermediate, and root
    // certificates". A leaf issued straight by a root is refused, naming what is missing.
    if (certificates.length === 2 && !selfSigned(certificates[0]) && selfSigned(certificates[1])) {
      error(
        'INTERMEDIATE_MISSING',
        1,
        'The chain is a leaf and a root with no intermediate between them; ConnectPay requires leaf, intermediate and root. Insert the intermediate CA certificate(s) your CA issued the leaf from, between the leaf and the root.',
      );
    }
    if (summaries[0].selfSigned) {
      error(
        'LEAF_SELF_SIGNED',
        0,
        'The leaf certificate is self-signed; ConnectPay accepts only CA-issued certificates (e.g. DigiCert, Sectigo, BuyPass).',
      );
    }

    let orderBroken = false;
    for (let i = 0; i < certificates.length - 1; i++) {
      if (!issuedBy(certificates[i], certificates[i + 1])) {
        orderBroken = true;
        error(
          'WRONG_ORDER',
          i,
          `Certificate ${i + 1} is not issued and signed by certificate ${i + 2}. Order the chain leaf first, then each issuer, root last.`,
        );
      }
    }
    if (orderBroken) {
      const order = orderFor(certificates);
      if (order) {
        findings.push({
          code: 'SUGGESTED_ORDER',
          severity: 'warning',
          certificateIndex: null,
          message: `These certificates form a valid chain in this order: ${order.map((i) => i + 1).join(' → ')}.`,
          details: { order },
        });
      }
    }

    const last = certificates.length - 1;
    if (certificates.length >= 2 && !summaries[last].selfSigned) {
      error(
        'ROOT_MISSING',
        last,
        'The last certificate is not a self-signed root. Append the root CA certificate at the end of the chain.',
      );
    } else if (certificates.length >= 2 && !publiclyTrustedRoots().has(summaries[last].fingerprintSha256)) {
      // "Reputable CA" (seed 003) has no list; the public trust store Node ships (Mozilla's) is the
      // nearest executable stand-in. A private or unknown root is most likely refused by ConnectPay.
      warning(
        'ROOT_NOT_PUBLICLY_TRUSTED',
        last,
        `The root "${certificates[last].subject.replace(/\n/g, ', ')}" is not in the public trust store (Mozilla's list, as shipped with Node). ConnectPay accepts certificates from reputable public CAs (e.g. DigiCert, Sectigo, BuyPass): check that yours is one.`,
      );
    }

    certificates.forEach((certificate, index) => {
      const facts = summaries[index];
      if (LETS_ENCRYPT.test(certificate.issuer) || LETS_ENCRYPT.test(certificate.subject)) {
        error(
          'LETS_ENCRYPT',
          index,
          "Let's Encrypt certificates are not accepted by ConnectPay (90-day lifetime). Use a certificate from a commercial CA.",
        );
      }
      if (facts.notAfter.getTime() < now.getTime()) {
        error('EXPIRED', index, `Certificate ${index + 1} expired on ${facts.notAfter.toISOString()}. Renew it.`);
      } else if (facts.notBefore.getTime() > now.getTime()) {
        error(
          'NOT_YET_VALID',
          index,
          `Certificate ${index + 1} is not valid before ${facts.notBefore.toISOString()}. Check the clock or wait.`,
        );
      } else if (index === 0 && facts.notAfter.getTime() - now.getTime() < EXPIRING_WITHIN_DAYS * 86_400_000) {
        warning(
          'EXPIRES_SOON',
          0,
          `The leaf expires on ${facts.notAfter.toISOString()}, within ${EXPIRING_WITHIN_DAYS} days. Plan its renewal now.`,
        );
      }
      if (index > 0 && usages(certificate).isCa === false) {
        error(
          'ISSUER_NOT_CA',
          index,
          `Certificate ${index + 1} is used as an issuer but is not a CA certificate (basicConstraints CA:FALSE).`,
        );
      }
      const bits = rsaModulusBits(certificate.publicKey);
      if (bits !== null && bits < 2048) {
        error(
          'WEAK_KEY',
          index,
          `Certificate ${index + 1} has a ${bits}-bit RSA key; at least 2048 bits are required.`,
        );
      }
    });

    const leafUsage = usages(leaf);
    const eku = leafUsage.extendedKeyUsage;
    if (eku && !eku.includes(EKU_CLIENT_AUTH) && !eku.includes(ANY_EXTENDED_KEY_USAGE)) {
      error(
        'NOT_CLIENT_AUTH',
        0,
        'The leaf may not be used for TLS client authentication (its extended key usage lacks clientAuth). Order a certificate with clientAuth.',
      );
    }
    if (leafUsage.keyUsage !== null && (leafUsage.keyUsage & KEY_USAGE.digitalSignature) === 0) {
      error(
        'NOT_CLIENT_AUTH',
        0,
        'The leaf may not sign (its key usage lacks digitalSignature), so it cannot authenticate a TLS client.',
      );
    }

    if (options.privateKeyPem !== undefined) {
      const key = privateKeyFromPem(options.privateKeyPem);
      if (!key) {
        error(
          'PRIVATE_KEY_UNREADABLE',
          null,
          'The private key is not a readable PEM private key (PKCS#8 or PKCS#1, unencrypted).',
        );
      } else if (!leaf.checkPrivateKey(key)) {
        error(
          'KEY_MISMATCH',
          0,
          'The private key does not belong to the leaf certificate. Send the key the certificate was issued for.',
        );
      }
    }
  }

  return {
    ok: !findings.some((finding) => finding.severity === 'error'),
    certificates: summaries,
    findings,
    parsed: certificates,
  };
}

/** A linted certificate's public facts, as the API shows them. */
export function publicCertificateSummary(certificate: ChainReport['certificates'][number]) {
  return {
    index: certificate.index,
    subject: certificate.subject,
    issuer: certificate.issuer,
    serialNumber: certificate.serialNumber,
    fingerprintSha256: certificate.fingerprintSha256,
    notBefore: certificate.notBefore.toISOString(),
    notAfter: certificate.notAfter.toISOString(),
    selfSigned: certificate.selfSigned,
  };
}
