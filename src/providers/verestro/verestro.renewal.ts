import { Injectable, OnModuleInit } from '@nestjs/common';
import { X509Certificate } from 'node:crypto';
import { CredentialRenewals, type CredentialRenewer, type RenewalPlan } from '../../credentials/credential-renewal';
import { generateRsaKeyPair } from '../../credentials/crypto/key-generation';
import type { Credential } from '../../credentials/domain/credential';
import { createCsr, subjectOfCertificate, subjectOfCsr } from '../../credentials/x509/x509';

/** Verestro's minimum RSA length; a shorter key in service (none should be) is renewed at this. */
const MIN_KEY_BITS = 2048;

/**
 * Verestro signs our CSR; a certificate cannot be renewed without a new one going to Verestro and
 * back, which takes days (PGP e-mail). So when the certificate in service enters its last 30
 * days, its successor is prepared here: a new key of the same length and a CSR with the same
 * subject (Verestro's rule: the CN stays the same across renewals, and beta and production share
 * it), stored pending. `credential.renewal_due` then carries the CSR and where to import the
 * signed certificate; importing it puts the successor in service and retires the old one.
 */
@Injectable()
export class VerestroRenewal implements CredentialRenewer, OnModuleInit {
  constructor(private readonly renewals: CredentialRenewals) {}

  onModuleInit(): void {
    this.renewals.register('verestro', 'mtls_client_certificate', this);
  }

  async prepare(current: Credential, successorId: string): Promise<RenewalPlan> {
    // The certificate Verestro signed is the authority on the subject; the CSR is what we asked for.
    const subject = current.certificatePem
      ? subjectOfCertificate(new X509Certificate(current.certificatePem))
      : current.csrPem
        ? subjectOfCsr(current.csrPem)
        : null;
    if (!subject?.CN) throw new Error(`credential ${current.id} has neither a certificate nor a CSR to renew from`);
    const bits = Math.max(MIN_KEY_BITS, Number(/^RSA-(\d+)$/.exec(current.keyAlgorithm ?? '')?.[1] ?? MIN_KEY_BITS));
    const generated = await generateRsaKeyPair(bits);
    const csrPem = await createCsr(subject, generated.keys);
    return {
      action: `Send the CSR to Verestro as at onboarding (PGP-encrypted e-mail) before ${current.expiresAt?.toISOString() ?? 'the certificate ends'}; import the certificate Verestro signs with POST /v1/credentials/${successorId}/certificate, which puts it in service in place of ${current.id}.`,
      successor: {
        credential: {
          provider: 'verestro',
          environment: current.environment,
          kind: 'mtls_client_certificate',
          label: `${current.label ?? subject.CN} (renewal)`,
          hints: {},
          attributes: { ...current.attributes, commonName: subject.CN },
          certificate: null,
          keyAlgorithm: `RSA-${bits}`,
          csrPem,
          certificatePem: null,
          chainPem: null,
          caPem: null,
          publicKeyPem: generated.publicKeyPem,
        },
        secret: { privateKeyPem: generated.privateKeyPem },
      },
      facts: { commonName: subject.CN, csrPem },
    };
  }
}
