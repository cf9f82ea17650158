import { Injectable } from '@nestjs/common';
import { X509Certificate } from 'node:crypto';
import { Environment } from '../../config/environment';
import { CredentialVault, secretOnlyCredential } from '../../credentials/credential-vault.service';
import { generateRsaKeyPair } from '../../credentials/crypto/key-generation';
import { Actor, Credential, maskHint } from '../../credentials/domain/credential';
import { rulesViolated } from '../../credentials/onboarding/rule-violation';
import {
  certificateFacts,
  createCertificateAuthority,
  createCsr,
  readCsr,
  signCertificateRequest,
} from '../../credentials/x509/x509';
import { checkCallbackCsr, parseAllowedCommonNames } from './verestro.callback-csr-rules';
import { checkVerestroCsr, counterpartEnvironment, VerestroCsrInput } from './verestro.csr-rules';
import type { VerestroEnvironment } from './verestro.descriptor';

/**
 * Verestro's onboarding: the key and CSR whose subject Verestro's rules dictate, the payouts Basic
 * authorization, and the callback CA that signs Verestro's own CSR for callbacks over mutual TLS.
 * The signed certificate comes back through the generic import (CredentialsService).
 */
@Injectable()
export class VerestroOnboarding {
  constructor(
    private readonly vault: CredentialVault,
    private readonly environment: Environment,
  ) {}

  async createCsr(
    input: VerestroCsrInput & { label?: string },
    actor: Actor,
  ): Promise<{ credential: Credential; commonName: string; csrPem: string }> {
    const { violations, subject } = checkVerestroCsr(input);
    const commonName = subject.CN as string;
    const counterpart = counterpartEnvironment(input.environment);
    if (counterpart && violations.length === 0) {
      const siblings = await this.vault.findByAttribute(
        'verestro',
        'mtls_client_certificate',
        'applicationName',
        input.applicationName.toLowerCase(),
      );
      const conflicting = siblings.find((c) => c.environment === counterpart && c.attributes.commonName !== commonName);
      if (conflicting) {
        violations.push({
          field: 'companyName',
          code: 'CN_DIFFERS_BETWEEN_BETA_AND_PRODUCTION',
          message: `gives the CN ${commonName}, but ${counterpart} already uses ${conflicting.attributes.commonName} for this application; Verestro requires one CN for beta and production`,
        });
      }
    }
    if (violations.length > 0) {
      throw rulesViolated('CSR_RULES_VIOLATED', "The CSR would break Verestro's rules:", violations);
    }
    const generated = await generateRsaKeyPair(input.keyBits);
    const csrPem = await createCsr(subject, generated.keys);
    const credential = await this.vault.create(
      {
        provider: 'verestro',
        environment: input.environment,
        kind: 'mtls_client_certificate',
        label: input.label ?? commonName,
        hints: {},
        attributes: {
          commonName,
          applicationName: input.applicationName.toLowerCase(),
          companyName: input.companyName,
        },
        certificate: null,
        keyAlgorithm: `RSA-${input.keyBits}`,
        csrPem,
        certificatePem: null,
        chainPem: null,
        caPem: null,
        publicKeyPem: generated.publicKeyPem,
      },
      { privateKeyPem: generated.privateKeyPem },
      actor,
      { activate: false },
    );
    return { credential, commonName, csrPem };
  }

  /** The Basic authorization Verestro issues at onboarding for payouts (used on top of mTLS). */
  async storeBasicAuth(
    input: { environment: VerestroEnvironment; username: string; password: string; label?: string },
    actor: Actor,
  ): Promise<Credential> {
    return this.vault.create(
      secretOnlyCredential({
        provider: 'verestro',
        environment: input.environment,
        kind: 'api_client',
        label: input.label ?? 'Verestro payouts Basic authorization',
        hints: { username: maskHint(input.username), password: maskHint(input.password) },
      }),
      { clientKey: input.username, clientSecret: input.password },
      actor,
      { activate: true },
    );
  }

  /**
   * Verestro calls us back over mutual TLS in reverse: it sends a CSR, we sign it with a CA of our
   * own (generated once per environment, its key sealed) and give back the certificate; the
   * callback listener then trusts only that CA. The CSR must pass the callback CA's policy
   * (callback-csr-rules.ts); the certificate takes only its subject and key.
   */
  async issueCallbackCertificate(
    input: { environment: VerestroEnvironment; csrPem: string },
    actor: Actor,
  ): Promise<{ certificatePem: string; caPem: string }> {
    // Checked before anything is created: a refused CSR leaves no CA behind.
    const csr = await readCsr(input.csrPem);
    const violations = csr
      ? checkCallbackCsr(csr, {
          allowedCommonNames: parseAllowedCommonNames(this.environment.VERESTRO_CALLBACK_CSR_CN),
        })
      : [
          {
            field: 'csrPem',
            code: 'NOT_A_VALID_CSR',
            message: 'must be a PEM certificate request (-----BEGIN CERTIFICATE REQUEST-----) whose signature verifies',
          },
        ];
    if (violations.length > 0) throw rulesViolated('CSR_REJECTED', 'The callback CSR cannot be signed:', violations);
    const ca = await this.callbackAuthority(input.environment, actor);
    const certificatePem = await signCertificateRequest(ca.caPem, ca.privateKeyPem, { csrPem: input.csrPem }, 'client');
    if (!certificatePem) {
      // readCsr verified the signature already; kept so a change there can never issue for an unverified request.
      throw rulesViolated('CSR_REJECTED', 'The callback CSR cannot be signed:', [
        {
          field: 'csrPem',
          code: 'NOT_A_VALID_CSR',
          message: 'must be a PEM certificate request whose signature verifies',
        },
      ]);
    }
    const facts = certificateFacts(new X509Certificate(certificatePem));
    await this.vault.recordEvent(ca.credentialId, 'callback_certificate_issued', actor, {
      subject: facts.subject,
      serialNumber: facts.serialNumber,
      notAfter: facts.notAfter.toISOString(),
    });
    return { certificatePem, caPem: ca.caPem };
  }

  /** The callback CA of an environment, created on first use. */
  async callbackAuthority(
    environment: VerestroEnvironment,
    actor: Actor,
  ): Promise<{ credentialId: string; caPem: string; privateKeyPem: string }> {
    const existing = await this.vault.activeMaterial('verestro', environment, 'callback_ca');
    if (existing?.credential.certificatePem && existing.secret.privateKeyPem) {
      return {
        credentialId: existing.credential.id,
        caPem: existing.credential.certificatePem,
        privateKeyPem: existing.secret.privateKeyPem,
      };
    }
    const generated = await generateRsaKeyPair(2048);
    const caPem = await createCertificateAuthority(
      `CN=payments-backend Verestro callbacks CA (${environment}),O=payments-backend`,
      generated.keys,
    );
    const credential = await this.vault.create(
      {
        ...secretOnlyCredential({
          provider: 'verestro',
          environment,
          kind: 'callback_ca',
          label: `Verestro ${environment} callback CA`,
          hints: {},
        }),
        certificate: certificateFacts(new X509Certificate(caPem)),
        certificatePem: caPem,
        keyAlgorithm: 'RSA-2048',
      },
      { privateKeyPem: generated.privateKeyPem },
      actor,
      { activate: true },
    );
    return { credentialId: credential.id, caPem, privateKeyPem: generated.privateKeyPem };
  }
}
