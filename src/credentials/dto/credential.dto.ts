import { descriptorOf } from '../../providers/provider-catalogue';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, Max, Min } from 'class-validator';
import { ALL_ENVIRONMENTS, Credential, CREDENTIAL_KINDS, CREDENTIAL_STATUSES, PROVIDERS } from '../domain/credential';

const DAY_MS = 86_400_000;

export class CertificateFactsDto {
  @ApiProperty({ example: 'C=US, ST=Florida, L=Miami, O=SomeCompany, OU=main, CN=V-SBX-Somecompany-Payouts' })
  subject!: string;

  @ApiProperty({ example: 'CN=Example Provider CA' })
  issuer!: string;

  @ApiProperty({ example: '4f1a0c…' })
  serialNumber!: string;

  @ApiProperty({ description: 'SHA-256 of the DER certificate, lowercase hex.' })
  fingerprintSha256!: string;

  @ApiProperty({ type: String, format: 'date-time' })
  notBefore!: string;

  @ApiProperty({ type: String, format: 'date-time' })
  notAfter!: string;

  @ApiProperty({ type: 'integer', description: 'Whole days until notAfter (negative once expired).', example: 364 })
  expiresInDays!: number;
}

export class CredentialDownloadsDto {
  @ApiPropertyOptional({ example: '/v1/credentials/5b3c…/csr' })
  csr?: string;

  @ApiPropertyOptional({ example: '/v1/credentials/5b3c…/public-key.pem' })
  publicKey?: string;

  @ApiPropertyOptional({ example: '/v1/credentials/5b3c…/submission.zip' })
  submissionZip?: string;
}

/** A credential as the API shows it: metadata, public facts and masked hints. Never a secret. */
export class CredentialDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ enum: PROVIDERS })
  provider!: string;

  @ApiProperty({ enum: ALL_ENVIRONMENTS })
  environment!: string;

  @ApiProperty({ enum: CREDENTIAL_KINDS })
  kind!: string;

  @ApiProperty({ type: String, nullable: true, example: 'V-SBX-Somecompany-Payouts' })
  label!: string | null;

  @ApiProperty({ enum: CREDENTIAL_STATUSES })
  status!: string;

  @ApiProperty({
    description: 'Last four characters of each secret, to recognise it.',
    example: { apiKey: '…a1b2' },
    type: 'object',
    additionalProperties: { type: 'string' },
  })
  hints!: Record<string, string>;

  @ApiProperty({
    description: 'Non-secret provider facts (e.g. the CN and application of a CSR, a brand id).',
    type: 'object',
    additionalProperties: { type: 'string' },
  })
  attributes!: Record<string, string>;

  @ApiProperty({ type: CertificateFactsDto, nullable: true })
  certificate!: CertificateFactsDto | null;

  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: "When it stops working: a certificate's notAfter or a token's expiry.",
  })
  expiresAt!: string | null;

  @ApiProperty({ type: String, nullable: true, example: 'RSA-4096' })
  keyAlgorithm!: string | null;

  @ApiProperty({ type: CredentialDownloadsDto })
  downloads!: CredentialDownloadsDto;

  @ApiProperty({ type: String, format: 'date-time' })
  createdAt!: string;

  @ApiProperty({ type: String, format: 'uuid', nullable: true })
  createdByKeyId!: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  activatedAt!: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  rotatedAt!: string | null;

  @ApiProperty({ type: String, format: 'uuid', nullable: true, description: 'The credential this one replaced.' })
  replacesId!: string | null;

  @ApiProperty({ type: String, format: 'uuid', nullable: true, description: 'The credential that replaced this one.' })
  replacedById!: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  revokedAt!: string | null;

  static from(credential: Credential, now = Date.now()): CredentialDto {
    const base = `/v1/credentials/${credential.id}`;
    const downloads: CredentialDownloadsDto = {};
    if (credential.csrPem) downloads.csr = `${base}/csr`;
    if (credential.kind === 'merchant_signing_key' && credential.publicKeyPem)
      downloads.publicKey = `${base}/public-key.pem`;
    if (descriptorOf(credential.provider).chainSubmissionKinds?.includes(credential.kind))
      downloads.submissionZip = `${base}/submission.zip`;
    const certificate = credential.certificate;
    return {
      id: credential.id,
      provider: credential.provider,
      environment: credential.environment,
      kind: credential.kind,
      label: credential.label,
      status: credential.status,
      hints: credential.hints,
      attributes: credential.attributes,
      certificate: certificate
        ? {
            subject: certificate.subject,
            issuer: certificate.issuer,
            serialNumber: certificate.serialNumber,
            fingerprintSha256: certificate.fingerprintSha256,
            notBefore: certificate.notBefore.toISOString(),
            notAfter: certificate.notAfter.toISOString(),
            expiresInDays: Math.floor((certificate.notAfter.getTime() - now) / DAY_MS),
          }
        : null,
      expiresAt: credential.expiresAt?.toISOString() ?? null,
      keyAlgorithm: credential.keyAlgorithm,
      downloads,
      createdAt: credential.createdAt.toISOString(),
      createdByKeyId: credential.createdByKeyId,
      activatedAt: credential.activatedAt?.toISOString() ?? null,
      rotatedAt: credential.rotatedAt?.toISOString() ?? null,
      replacesId: credential.replacesId,
      replacedById: credential.replacedById,
      revokedAt: credential.revokedAt?.toISOString() ?? null,
    };
  }
}

export class ListCredentialsQueryDto {
  @ApiPropertyOptional({ enum: PROVIDERS })
  @IsOptional()
  @IsIn(PROVIDERS)
  provider?: (typeof PROVIDERS)[number];

  @ApiPropertyOptional({ enum: ALL_ENVIRONMENTS })
  @IsOptional()
  @IsIn(ALL_ENVIRONMENTS)
  environment?: (typeof ALL_ENVIRONMENTS)[number];

  @ApiPropertyOptional({ enum: CREDENTIAL_KINDS })
  @IsOptional()
  @IsIn(CREDENTIAL_KINDS)
  kind?: (typeof CREDENTIAL_KINDS)[number];

  @ApiPropertyOptional({ enum: CREDENTIAL_STATUSES })
  @IsOptional()
  @IsIn(CREDENTIAL_STATUSES)
  status?: (typeof CREDENTIAL_STATUSES)[number];

  @ApiPropertyOptional({
    type: 'integer',
    description: 'Only certificates in service that expire within this many days.',
    example: 30,
    minimum: 0,
    maximum: 3650,
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(3650)
  expiringWithinDays?: number;
}

export class CredentialEventDto {
  @ApiProperty({ example: '42' })
  id!: string;

  @ApiProperty({ example: 'rotated_in' })
  type!: string;

  @ApiProperty({ example: 'admin (ADMIN_API_KEY)' })
  actor!: string;

  @ApiProperty({ type: String, format: 'uuid', nullable: true })
  actorKeyId!: string | null;

  @ApiProperty({ type: 'object', additionalProperties: true })
  details!: Record<string, unknown>;

  @ApiProperty({ type: String, format: 'date-time' })
  occurredAt!: string;
}
