import { HttpStatus, Injectable } from '@nestjs/common';
import { X509Certificate } from 'node:crypto';
import { zipSync } from 'fflate';
import { ApiError } from '../common/errors/api-error';
import { Environment } from '../config/environment';
import { lintClientChain, ChainReport } from './connectpay/chain-lint';
import { CredentialVault, secretOnlyCredential } from './credential-vault.service';
import { generateRsaKeyPair } from './crypto/key-generation';
import {
  Actor,
  ConnectPayEnvironment,
  Credential,
  D24Environment,
  maskHint,
  VerestroEnvironment,
} from './domain/credential';
import { checkCallbackCsr, parseAllowedCommonNames } from './verestro/callback-csr-rules';
import { checkVerestroCsr, counterpartEnvironment, RuleViolation, VerestroCsrInput } from './verestro/csr-rules';
import {
  certificateFacts,
  certificatePem,
  createCertificateAuthority,
  createCsr,
  keyDescription,
  pemBlocks,
  privateKeyFromPem,
  readCsr,
  signCertificateRequest,
  subjectOfCertificate,
  subjectOfCsr,
  SUBJECT_OIDS,
  SubjectField,
} from './x509/x509';

/** 422 with every violated rule listed, so the operator can fix them all at once. */
function rulesViolated(code: string, message: string, violations: RuleViolation[]): ApiError {
  return new ApiError(
    HttpStatus.UNPROCESSABLE_ENTITY,
    code,
    `${message} ${violations.map((v) => `${v.field}: ${v.message}`).join('; ')}.`,
    violations,
  );
}

export interface ChainCheckResult {
  report: ChainReport;
  credential: Credential;
}

/**
 * Onboarding flows for each provider's credentials: they generate what the provider demands
 * (Verestro CSRs, ConnectPay signing keys) and lint what an operator imports before it is stored.
 */
@Injectable()
export class CredentialsService {
  constructor(
    private readonly vault: CredentialVault,
    private readonly environment: Environment,
  ) {}

  // ---- Verestro -------------------------------------------------------------------------------

  async createVerestroCsr(input: VerestroCsrInput & { label?: string }, actor: Actor): Promise<{ credential: Credential; commonName: string; csrPem: string }> {
    const { violations, subject } = checkVerestroCsr(input);
    const commonName = subject.CN as string;
    const counterpart = counterpartEnvironment(input.environment);
    if (counterpart && violations.length === 0) {
      const siblings = await this.vault.findByAttribute('verestro', 'mtls_client_certificate', 'applicationName', input.applicationName.toLowerCase());
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
      throw rulesViolated('CSR_RULES_VIOLATED', 'The CSR would break Verestro\'s rules:', violations);
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
      false,
    );
    return { credential, commonName, csrPem };
  }

  /**
   * Imports the certificate Verestro signed from our CSR: it must carry our key and our subject
   * and be valid now; when Verestro's CA certificate is given, it must have signed it.
   */
  async importSignedCertificate(id: string, input: { certificatePem: string; caPem?: string }, actor: Actor): Promise<Credential> {
    const credential = await this.vault.get(id);
    if (credential.kind !== 'mtls_client_certificate' || !credential.csrPem) {
      throw new ApiError(HttpStatus.CONFLICT, 'NOT_A_CSR_CREDENTIAL', `Credential ${id} was not created from a CSR; import a certificate only into a CSR credential.`);
    }
    if (credential.status !== 'pending') {
      throw new ApiError(HttpStatus.CONFLICT, 'CREDENTIAL_NOT_PENDING', `Credential ${id} is ${credential.status}; generate a new CSR to replace it.`, { status: credential.status });
    }
    const violations: RuleViolation[] = [];
    const certificates = parseCertificates(input.certificatePem, 'certificatePem', violations);
    const ca = input.caPem ? parseCertificates(input.caPem, 'caPem', violations)[0] : undefined;
    const leaf = certificates[0];
    if (leaf) {
      const { privateKeyPem } = await this.vault.openSecret(id, 'mtls_client_certificate');
      const key = privateKeyFromPem(privateKeyPem);
      if (!key || !leaf.checkPrivateKey(key)) {
        violations.push({ field: 'certificatePem', code: 'KEY_MISMATCH', message: 'does not carry the public key of this CSR: it was issued for another request' });
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
        if (!signed) violations.push({ field: 'caPem', code: 'NOT_SIGNED_BY_CA', message: 'did not sign this certificate: send the CA certificate that issued it' });
      }
    }
    if (violations.length > 0) throw rulesViolated('CERTIFICATE_REJECTED', 'The certificate cannot be used:', violations);
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

  /**
   * Verestro calls us back over mutual TLS in reverse: it sends a CSR, we sign it with a CA of our
   * own (generated once per environment, its key sealed) and give back the certificate; the
   * callback listener then trusts only that CA. The CSR must pass the callback CA's policy
   * (callback-csr-rules.ts); the certificate takes only its subject and key.
   */
  async issueVerestroCallbackCertificate(input: { environment: VerestroEnvironment; csrPem: string }, actor: Actor): Promise<{ certificatePem: string; caPem: string }> {
    // Checked before anything is created: a refused CSR leaves no CA behind.
    const csr = await readCsr(input.csrPem);
    const violations = csr
      ? checkCallbackCsr(csr, { allowedCommonNames: parseAllowedCommonNames(this.environment.VERESTRO_CALLBACK_CSR_CN) })
      : [{ field: 'csrPem', code: 'NOT_A_VALID_CSR', message: 'must be a PEM certificate request (-----BEGIN CERTIFICATE REQUEST-----) whose signature verifies' }];
    if (violations.length > 0) throw rulesViolated('CSR_REJECTED', 'The callback CSR cannot be signed:', violations);
    const ca = await this.callbackAuthority(input.environment, actor);
    const certificatePem = await signCertificateRequest(ca.caPem, ca.privateKeyPem, { csrPem: input.csrPem }, 'client');
    if (!certificatePem) {
      // readCsr verified the signature already; kept so a change there can never issue for an unverified request.
      throw rulesViolated('CSR_REJECTED', 'The callback CSR cannot be signed:', [{ field: 'csrPem', code: 'NOT_A_VALID_CSR', message: 'must be a PEM certificate request whose signature verifies' }]);
    }
    const facts = certificateFacts(new X509Certificate(certificatePem));
    await this.vault.recordEvent(ca.credentialId, 'callback_certificate_issued', actor, { subject: facts.subject, serialNumber: facts.serialNumber, notAfter: facts.notAfter.toISOString() });
    return { certificatePem, caPem: ca.caPem };
  }

  /** The callback CA of an environment, created on first use. */
  async callbackAuthority(environment: VerestroEnvironment, actor: Actor): Promise<{ credentialId: string; caPem: string; privateKeyPem: string }> {
    const existing = await this.vault.activeMaterial('verestro', environment, 'callback_ca');
    if (existing?.credential.certificatePem && existing.secret.privateKeyPem) {
      return { credentialId: existing.credential.id, caPem: existing.credential.certificatePem, privateKeyPem: existing.secret.privateKeyPem };
    }
    const generated = await generateRsaKeyPair(2048);
    const caPem = await createCertificateAuthority(`CN=payments-backend Verestro callbacks CA (${environment}),O=payments-backend`, generated.keys);
    const credential = await this.vault.create(
      {
        ...secretOnlyCredential({ provider: 'verestro', environment, kind: 'callback_ca', label: `Verestro ${environment} callback CA`, hints: {} }),
        certificate: certificateFacts(new X509Certificate(caPem)),
        certificatePem: caPem,
        keyAlgorithm: 'RSA-2048',
      },
      { privateKeyPem: generated.privateKeyPem },
      actor,
      true,
    );
    return { credentialId: credential.id, caPem, privateKeyPem: generated.privateKeyPem };
  }

  // ---- ConnectPay -----------------------------------------------------------------------------

  /** Lints a chain (and key) against ConnectPay's rules; stores nothing. */
  async checkConnectPayChain(input: { environment: ConnectPayEnvironment; chainPem: string; privateKeyPem?: string }): Promise<ChainReport> {
    const report = lintClientChain(input.chainPem, { privateKeyPem: input.privateKeyPem });
    await this.warnIfSharedAcrossEnvironments(report, input.environment);
    return report;
  }

  async storeConnectPayCertificate(
    input: { environment: ConnectPayEnvironment; chainPem: string; privateKeyPem: string; label?: string },
    actor: Actor,
  ): Promise<ChainCheckResult> {
    const report = lintClientChain(input.chainPem, { privateKeyPem: input.privateKeyPem });
    await this.warnIfSharedAcrossEnvironments(report, input.environment);
    if (!report.ok) {
      const errors = report.findings.filter((finding) => finding.severity === 'error');
      throw new ApiError(
        HttpStatus.UNPROCESSABLE_ENTITY,
        'CHAIN_REJECTED',
        `The chain breaks ConnectPay's rules: ${errors.map((finding) => finding.message).join(' ')}`,
        { findings: report.findings, certificates: report.certificates.map(publicCertificateSummary) },
      );
    }
    const leaf = report.parsed[0];
    const key = privateKeyFromPem(input.privateKeyPem);
    const credential = await this.vault.create(
      {
        provider: 'connectpay',
        environment: input.environment,
        kind: 'mtls_client_certificate',
        label: input.label ?? (report.certificates[0]?.subject || null),
        hints: {},
        attributes: {},
        certificate: certificateFacts(leaf),
        keyAlgorithm: key ? keyDescription(key) : null,
        csrPem: null,
        certificatePem: certificatePem(leaf),
        chainPem: report.parsed.map(certificatePem).join(''),
        caPem: certificatePem(report.parsed[report.parsed.length - 1]),
        publicKeyPem: null,
      },
      { privateKeyPem: normalizePrivateKeyPem(input.privateKeyPem) },
      actor,
      true,
    );
    return { report, credential };
  }

  /** The chain as ConnectPay asks for it: PEM, leaf → intermediates → root, in a .zip. */
  async submissionZip(id: string): Promise<{ fileName: string; zip: Buffer }> {
    const credential = await this.vault.get(id);
    if (credential.provider !== 'connectpay' || credential.kind !== 'mtls_client_certificate' || !credential.chainPem) {
      throw new ApiError(HttpStatus.CONFLICT, 'NOT_A_CONNECTPAY_CHAIN', `Credential ${id} is not a ConnectPay certificate chain; the submission .zip exists only for those.`);
    }
    const certificates = pemBlocks(credential.chainPem).blocks.map((block) => new X509Certificate(block.der));
    const files: Record<string, [Uint8Array, { mtime: Date }]> = {};
    const mtime = credential.activatedAt ?? credential.createdAt;
    const name = (index: number) =>
      index === 0 ? 'leaf' : index === certificates.length - 1 ? 'root' : `intermediate-${index}`;
    files['fullchain.pem'] = [Buffer.from(credential.chainPem, 'utf8'), { mtime }];
    certificates.forEach((certificate, index) => {
      files[`${index + 1}-${name(index)}.pem`] = [Buffer.from(certificatePem(certificate), 'utf8'), { mtime }];
    });
    const fingerprint = credential.certificate?.fingerprintSha256.slice(0, 12) ?? id.slice(0, 8);
    return { fileName: `connectpay-${credential.environment}-chain-${fingerprint}.zip`, zip: Buffer.from(zipSync(files, { level: 6 })) };
  }

  async storeConnectPayApiClient(input: { environment: ConnectPayEnvironment; clientKey: string; clientSecret: string; brandId?: string; label?: string }, actor: Actor): Promise<Credential> {
    return this.vault.create(
      secretOnlyCredential({
        provider: 'connectpay',
        environment: input.environment,
        kind: 'api_client',
        label: input.label ?? 'ConnectPay DevApp client',
        hints: { clientKey: maskHint(input.clientKey), clientSecret: maskHint(input.clientSecret) },
        attributes: input.brandId ? { brandId: input.brandId } : {},
      }),
      { clientKey: input.clientKey, clientSecret: input.clientSecret },
      actor,
      true,
    );
  }

  /** The Basic authorization Verestro issues at onboarding for payouts (used on top of mTLS). */
  async storeVerestroBasicAuth(input: { environment: VerestroEnvironment; username: string; password: string; label?: string }, actor: Actor): Promise<Credential> {
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
      true,
    );
  }

  async storeConnectPayWebhookSecret(input: { environment: ConnectPayEnvironment; secretToken: string; label?: string }, actor: Actor): Promise<Credential> {
    return this.vault.create(
      secretOnlyCredential({
        provider: 'connectpay',
        environment: input.environment,
        kind: 'webhook_secret',
        label: input.label ?? 'ConnectPay webhook secret token',
        hints: { secretToken: maskHint(input.secretToken) },
      }),
      { secretToken: input.secretToken },
      actor,
      true,
    );
  }

  /** Generates the RSA-2048 key that signs Merchant API v2 requests; its public key goes to ConnectPay. */
  async generateConnectPayMerchantSigningKey(input: { environment: ConnectPayEnvironment; label?: string }, actor: Actor): Promise<Credential> {
    const generated = await generateRsaKeyPair(2048);
    return this.vault.create(
      {
        ...secretOnlyCredential({
          provider: 'connectpay',
          environment: input.environment,
          kind: 'merchant_signing_key',
          label: input.label ?? 'ConnectPay Merchant API v2 signing key',
          hints: {},
        }),
        keyAlgorithm: 'RSA-2048',
        publicKeyPem: generated.publicKeyPem,
      },
      { privateKeyPem: generated.privateKeyPem },
      actor,
      true,
    );
  }

  // ---- D24 ------------------------------------------------------------------------------------

  async storeD24Keys(
    input: { environment: D24Environment; apiKey: string; apiPassphrase: string; apiSignature: string; readOnlyKey?: string; label?: string },
    actor: Actor,
  ): Promise<Credential> {
    const hints: Record<string, string> = {
      apiKey: maskHint(input.apiKey),
      apiPassphrase: maskHint(input.apiPassphrase),
      apiSignature: maskHint(input.apiSignature),
    };
    if (input.readOnlyKey) hints.readOnlyKey = maskHint(input.readOnlyKey);
    const secret = { apiKey: input.apiKey, apiPassphrase: input.apiPassphrase, apiSignature: input.apiSignature, ...(input.readOnlyKey ? { readOnlyKey: input.readOnlyKey } : {}) };
    return this.vault.create(
      secretOnlyCredential({ provider: 'd24', environment: input.environment, kind: 'api_keys', label: input.label ?? 'D24 cashout keys', hints }),
      secret,
      actor,
      true,
    );
  }

  // ---- Shared ---------------------------------------------------------------------------------

  async csrPem(id: string): Promise<{ fileName: string; pem: string }> {
    const credential = await this.vault.get(id);
    if (!credential.csrPem) throw new ApiError(HttpStatus.CONFLICT, 'NO_CSR', `Credential ${id} was not created from a CSR, so there is none to download.`);
    return { fileName: `${credential.attributes.commonName ?? credential.id}.csr`, pem: credential.csrPem };
  }

  async publicKeyPem(id: string): Promise<{ fileName: string; pem: string }> {
    const credential = await this.vault.get(id);
    if (!credential.publicKeyPem) throw new ApiError(HttpStatus.CONFLICT, 'NO_PUBLIC_KEY', `Credential ${id} has no public key to download.`);
    return { fileName: `${credential.provider}-${credential.environment}-${credential.kind}.pub.pem`, pem: credential.publicKeyPem };
  }

  private async warnIfSharedAcrossEnvironments(report: ChainReport, environment: ConnectPayEnvironment): Promise<void> {
    const fingerprint = report.certificates[0]?.fingerprintSha256;
    const other = environment === 'stage' ? 'prod' : environment === 'prod' ? 'stage' : null;
    if (!fingerprint || !other) return;
    const inOther = (await this.vault.list({ provider: 'connectpay', environment: other, kind: 'mtls_client_certificate' })).filter(
      (credential) => credential.certificate?.fingerprintSha256 === fingerprint && credential.status !== 'revoked',
    );
    if (inOther.length > 0) {
      report.findings.push({
        code: 'SAME_CERTIFICATE_STAGE_AND_PROD',
        severity: 'warning',
        certificateIndex: 0,
        message: `This leaf is already registered for ${other}. ConnectPay discourages one certificate for both stage and prod.`,
      });
    }
  }
}

function parseCertificates(text: string, field: string, violations: RuleViolation[]): X509Certificate[] {
  const { blocks } = pemBlocks(text);
  const certificates: X509Certificate[] = [];
  for (const block of blocks.filter((b) => b.label === 'CERTIFICATE')) {
    try {
      certificates.push(new X509Certificate(block.der));
    } catch {
      violations.push({ field, code: 'NOT_PEM', message: 'holds a CERTIFICATE block that is not a readable X.509 certificate' });
      return [];
    }
  }
  if (certificates.length === 0) {
    violations.push({ field, code: 'NOT_PEM', message: 'must be a PEM certificate ("-----BEGIN CERTIFICATE-----" …)' });
  }
  return certificates;
}

function checkValidity(certificate: X509Certificate, field: string, violations: RuleViolation[]): void {
  const facts = certificateFacts(certificate);
  const now = Date.now();
  if (facts.notAfter.getTime() <= now) {
    violations.push({ field, code: 'EXPIRED', message: `expired on ${facts.notAfter.toISOString()}` });
  } else if (facts.notBefore.getTime() > now) {
    violations.push({ field, code: 'NOT_YET_VALID', message: `is not valid before ${facts.notBefore.toISOString()}` });
  }
}

/** Stored as PKCS#8 whatever the operator pasted (PKCS#1 "RSA PRIVATE KEY" included). */
function normalizePrivateKeyPem(pem: string): string {
  const key = privateKeyFromPem(pem);
  return key ? (key.export({ type: 'pkcs8', format: 'pem' }) as string) : pem;
}

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
