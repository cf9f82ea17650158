import { HttpStatus, Injectable } from '@nestjs/common';
import { CredentialVault } from './credential-vault.service';
import { Actor, Credential } from './domain/credential';
import { checkValidity, parseCertificates, RuleViolation, rulesViolated } from './onboarding/rule-violation';
import {
  certificateFacts,
  certificatePem,
  privateKeyFromPem,
  subjectOfCertificate,
  subjectOfCsr,
  SUBJECT_OIDS,
  SubjectField,
} from './x509/x509';
import { ApiError } from '../common/errors/api-error';

/**
 * The onboarding steps every provider shares: importing the certificate a provider signed from
 * our CSR, and the CSR and public-key downloads. What a provider demands of its own credentials
 * lives in its folder (src/providers/<p>/<p>.onboarding.ts).
 */
@Injectable()
export class CredentialsService {
  constructor(private readonly vault: CredentialVault) {}

  /**
   * Imports the certificate a provider signed from our CSR (Verestro does): it must carry our key
   * and our subject and be valid now; when the provider's CA certificate is given, it must have signed it.
   */
  async importSignedCertificate(
    id: string,
    input: { certificatePem: string; caPem?: string },
    actor: Actor,
  ): Promise<Credential> {
    const credential = await this.vault.get(id);
    if (credential.kind !== 'mtls_client_certificate' || !credential.csrPem) {
      throw new ApiError(
        HttpStatus.CONFLICT,
        'NOT_A_CSR_CREDENTIAL',
        `Credential ${id} was not created from a CSR; import a certificate only into a CSR credential.`,
      );
    }
    if (credential.status !== 'pending') {
      throw new ApiError(
        HttpStatus.CONFLICT,
        'CREDENTIAL_NOT_PENDING',
        `Credential ${id} is ${credential.status}; generate a new CSR to replace it.`,
        { status: credential.status },
      );
    }
    const violations: RuleViolation[] = [];
    const certificates = parseCertificates(input.certificatePem, 'certificatePem', violations);
    const ca = input.caPem ? parseCertificates(input.caPem, 'caPem', violations)[0] : undefined;
    const leaf = certificates[0];
    if (leaf) {
      const { privateKeyPem } = await this.vault.openSecret(id, 'mtls_client_certificate');
      const key = privateKeyFromPem(privateKeyPem);
      if (!key || !leaf.checkPrivateKey(key)) {
        violations.push({
          field: 'certificatePem',
          code: 'KEY_MISMATCH',
          message: 'does not carry the public key of this CSR: it was issued for another request',
        });
      }
      const expected = subjectOfCsr(credential.csrPem);
      const actual = subjectOfCertificate(leaf);
      const differing = (Object.keys(SUBJECT_OIDS) as SubjectField[]).filter(
        (field) => expected[field] !== actual[field] && !(field === 'emailAddress' && actual[field] === undefined),
      );
      if (differing.length > 0) {
        violations.push({
          field: 'certificatePem',
          code: 'SUBJECT_MISMATCH',
          message: `has a subject that differs from the CSR in ${differing.map((f) => `${f} (expected "${expected[f] ?? ''}", got "${actual[f] ?? ''}")`).join(', ')}`,
        });
      }
      checkValidity(leaf, 'certificatePem', violations);
      if (ca) {
        checkValidity(ca, 'caPem', violations);
        let signed = false;
        try {
          signed = leaf.checkIssued(ca) && leaf.verify(ca.publicKey);
        } catch {
          signed = false;
        }
        if (!signed)
          violations.push({
            field: 'caPem',
            code: 'NOT_SIGNED_BY_CA',
            message: 'did not sign this certificate: send the CA certificate that issued it',
          });
      }
    }
    if (violations.length > 0)
      throw rulesViolated('CERTIFICATE_REJECTED', 'The certificate cannot be used:', violations);
    const facts = certificateFacts(leaf);
    return this.vault.activate(
      id,
      {
        certificate: facts,
        certificatePem: certificatePem(leaf),
        chainPem: [leaf, ...certificates.slice(1)].map(certificatePem).join(''),
        caPem: ca ? certificatePem(ca) : null,
      },
      actor,
    );
  }

  // ---- Shared ---------------------------------------------------------------------------------

  async csrPem(id: string): Promise<{ fileName: string; pem: string }> {
    const credential = await this.vault.get(id);
    if (!credential.csrPem)
      throw new ApiError(
        HttpStatus.CONFLICT,
        'NO_CSR',
        `Credential ${id} was not created from a CSR, so there is none to download.`,
      );
    return { fileName: `${credential.attributes.commonName ?? credential.id}.csr`, pem: credential.csrPem };
  }

  async publicKeyPem(id: string): Promise<{ fileName: string; pem: string }> {
    const credential = await this.vault.get(id);
    if (!credential.publicKeyPem)
      throw new ApiError(HttpStatus.CONFLICT, 'NO_PUBLIC_KEY', `Credential ${id} has no public key to download.`);
    return {
      fileName: `${credential.provider}-${credential.environment}-${credential.kind}.pub.pem`,
      pem: credential.publicKeyPem,
    };
  }
}
