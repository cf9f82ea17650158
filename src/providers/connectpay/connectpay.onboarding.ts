import { HttpStatus, Injectable } from '@nestjs/common';
import { X509Certificate } from 'node:crypto';
import { zipSync } from 'fflate';
import { ApiError } from '../../common/errors/api-error';
import { CredentialVault, secretOnlyCredential } from '../../credentials/credential-vault.service';
import { generateRsaKeyPair } from '../../credentials/crypto/key-generation';
import { Actor, Credential, maskHint } from '../../credentials/domain/credential';
import { normalizePrivateKeyPem } from '../../credentials/onboarding/rule-violation';
import {
  certificateFacts,
  certificatePem,
  keyDescription,
  pemBlocks,
  privateKeyFromPem,
} from '../../credentials/x509/x509';
import { ChainReport, lintClientChain, publicCertificateSummary } from './connectpay.chain-lint';
import { ConnectPayRevocation } from './connectpay.revocation';
import type { ConnectPayEnvironment } from './connectpay.descriptor';

export interface ChainCheckResult {
  report: ChainReport;
  credential: Credential;
}

/**
 * ConnectPay's onboarding: the client chain linted against ConnectPay's rules before it is stored
 * (and packaged as ConnectPay asks for it), the DevApp client, the webhook token and the Merchant
 * API signing key.
 */
@Injectable()
export class ConnectPayOnboarding {
  constructor(
    private readonly vault: CredentialVault,
    private readonly revocation: ConnectPayRevocation,
  ) {}

  /** Lints a chain (and key) against ConnectPay's rules; stores nothing. */
  async checkChain(input: {
    environment: ConnectPayEnvironment;
    chainPem: string;
    privateKeyPem?: string;
  }): Promise<ChainReport> {
    const report = await this.revocation.check(lintClientChain(input.chainPem, { privateKeyPem: input.privateKeyPem }));
    await this.warnIfSharedAcrossEnvironments(report, input.environment);
    return report;
  }

  async storeCertificate(
    input: { environment: ConnectPayEnvironment; chainPem: string; privateKeyPem: string; label?: string },
    actor: Actor,
  ): Promise<ChainCheckResult> {
    const report = await this.revocation.check(lintClientChain(input.chainPem, { privateKeyPem: input.privateKeyPem }));
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
      { activate: true },
    );
    return { report, credential };
  }

  /** The chain as ConnectPay asks for it: PEM, leaf → intermediates → root, in a .zip. */
  async submissionZip(id: string): Promise<{ fileName: string; zip: Buffer }> {
    const credential = await this.vault.get(id);
    if (credential.provider !== 'connectpay' || credential.kind !== 'mtls_client_certificate' || !credential.chainPem) {
      throw new ApiError(
        HttpStatus.CONFLICT,
        'NOT_A_CONNECTPAY_CHAIN',
        `Credential ${id} is not a ConnectPay certificate chain; the submission .zip exists only for those.`,
      );
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
    return {
      fileName: `connectpay-${credential.environment}-chain-${fingerprint}.zip`,
      zip: Buffer.from(zipSync(files, { level: 6 })),
    };
  }

  async storeApiClient(
    input: {
      environment: ConnectPayEnvironment;
      clientKey: string;
      clientSecret: string;
      brandId?: string;
      label?: string;
    },
    actor: Actor,
  ): Promise<Credential> {
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
      { activate: true },
    );
  }

  async storeWebhookSecret(
    input: { environment: ConnectPayEnvironment; secretToken: string; label?: string },
    actor: Actor,
  ): Promise<Credential> {
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
      { activate: true },
    );
  }

  /** Generates the RSA-2048 key that signs Merchant API v2 requests; its public key goes to ConnectPay. */
  async generateMerchantSigningKey(
    input: { environment: ConnectPayEnvironment; label?: string },
    actor: Actor,
  ): Promise<Credential> {
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
      { activate: true },
    );
  }

  private async warnIfSharedAcrossEnvironments(report: ChainReport, environment: ConnectPayEnvironment): Promise<void> {
    const fingerprint = report.certificates[0]?.fingerprintSha256;
    const other = environment === 'stage' ? 'prod' : environment === 'prod' ? 'stage' : null;
    if (!fingerprint || !other) return;
    const inOther = (
      await this.vault.list({ provider: 'connectpay', environment: other, kind: 'mtls_client_certificate' })
    ).filter(
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
