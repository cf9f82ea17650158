import {
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  OneToOne,
  PrimaryColumn,
  PrimaryGeneratedColumn,
} from 'typeorm';
import type { Credential, CredentialKind, CredentialStatus, Provider, ProviderEnvironment } from '../domain/credential';

/** Credential metadata and public material (certificates, CSRs, public keys). Never a secret. */
@Entity({ name: 'credentials' })
@Index('ix_credentials_provider_environment', ['provider', 'environment'])
// At most one credential in service per provider + environment + kind: rotation swaps them in one transaction.
@Index('uq_credentials_in_service', ['provider', 'environment', 'kind'], {
  unique: true,
  where: `"status" IN ('active', 'expiring', 'expired')`,
})
export class CredentialEntity {
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @Column({ type: 'varchar', length: 16 })
  provider!: Provider;

  @Column({ type: 'varchar', length: 16 })
  environment!: ProviderEnvironment;

  @Column({ type: 'varchar', length: 32 })
  kind!: CredentialKind;

  @Column({ type: 'varchar', length: 100, nullable: true })
  label!: string | null;

  @Column({ type: 'varchar', length: 16 })
  status!: CredentialStatus;

  @Column({ type: 'jsonb', default: () => `'{}'` })
  hints!: Record<string, string>;

  @Column({ type: 'jsonb', default: () => `'{}'` })
  attributes!: Record<string, string>;

  @Column({ type: 'text', nullable: true })
  subject!: string | null;

  @Column({ type: 'text', nullable: true })
  issuer!: string | null;

  @Column({ name: 'serial_number', type: 'varchar', length: 64, nullable: true })
  serialNumber!: string | null;

  @Column({ name: 'fingerprint_sha256', type: 'char', length: 64, nullable: true })
  fingerprintSha256!: string | null;

  @Column({ name: 'not_before', type: 'timestamptz', nullable: true })
  notBefore!: Date | null;

  @Column({ name: 'not_after', type: 'timestamptz', nullable: true })
  notAfter!: Date | null;

  @Column({ name: 'key_algorithm', type: 'varchar', length: 32, nullable: true })
  keyAlgorithm!: string | null;

  @Column({ name: 'csr_pem', type: 'text', nullable: true })
  csrPem!: string | null;

  @Column({ name: 'certificate_pem', type: 'text', nullable: true })
  certificatePem!: string | null;

  @Column({ name: 'chain_pem', type: 'text', nullable: true })
  chainPem!: string | null;

  @Column({ name: 'ca_pem', type: 'text', nullable: true })
  caPem!: string | null;

  @Column({ name: 'public_key_pem', type: 'text', nullable: true })
  publicKeyPem!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'created_by_key_id', type: 'uuid', nullable: true })
  createdByKeyId!: string | null;

  @Column({ name: 'activated_at', type: 'timestamptz', nullable: true })
  activatedAt!: Date | null;

  @Column({ name: 'rotated_at', type: 'timestamptz', nullable: true })
  rotatedAt!: Date | null;

  @Column({ name: 'replaces_id', type: 'uuid', nullable: true })
  replacesId!: string | null;

  @Column({ name: 'replaced_by_id', type: 'uuid', nullable: true })
  replacedById!: string | null;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;

  @Column({ name: 'revoked_by_key_id', type: 'uuid', nullable: true })
  revokedByKeyId!: string | null;
}

/** The sealed secret of a credential: a wrapped data key and the ciphertext it opens. */
@Entity({ name: 'credential_secrets' })
export class CredentialSecretEntity {
  @PrimaryColumn({ name: 'credential_id', type: 'uuid' })
  credentialId!: string;

  @OneToOne(() => CredentialEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'credential_id', foreignKeyConstraintName: 'fk_credential_secrets_credential' })
  credential?: CredentialEntity;

  @Column({ name: 'master_key_id', type: 'varchar', length: 32 })
  masterKeyId!: string;

  @Column({ name: 'wrapped_data_key', type: 'bytea' })
  wrappedDataKey!: Buffer;

  @Column({ type: 'bytea' })
  ciphertext!: Buffer;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'rewrapped_at', type: 'timestamptz', nullable: true })
  rewrappedAt!: Date | null;
}

/** Append-only audit trail (a trigger refuses UPDATE, DELETE and TRUNCATE). */
@Entity({ name: 'credential_events' })
@Index('ix_credential_events_credential', ['credentialId', 'occurredAt'])
export class CredentialEventEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @Column({ name: 'credential_id', type: 'uuid', nullable: true })
  credentialId!: string | null;

  @ManyToOne(() => CredentialEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'credential_id', foreignKeyConstraintName: 'fk_credential_events_credential' })
  credential?: CredentialEntity;

  @Column({ type: 'varchar', length: 40 })
  type!: string;

  @Column({ name: 'actor_key_id', type: 'uuid', nullable: true })
  actorKeyId!: string | null;

  @Column({ name: 'actor_name', type: 'varchar', length: 100 })
  actorName!: string;

  @Column({ type: 'jsonb', default: () => `'{}'` })
  details!: Record<string, unknown>;

  @CreateDateColumn({ name: 'occurred_at', type: 'timestamptz' })
  occurredAt!: Date;
}

export function toCredential(row: CredentialEntity): Credential {
  return {
    id: row.id,
    provider: row.provider,
    environment: row.environment,
    kind: row.kind,
    label: row.label,
    status: row.status,
    hints: row.hints,
    attributes: row.attributes,
    certificate:
      row.fingerprintSha256 && row.notBefore && row.notAfter
        ? {
            subject: row.subject ?? '',
            issuer: row.issuer ?? '',
            serialNumber: row.serialNumber ?? '',
            fingerprintSha256: row.fingerprintSha256,
            notBefore: row.notBefore,
            notAfter: row.notAfter,
          }
        : null,
    expiresAt: row.notAfter,
    keyAlgorithm: row.keyAlgorithm,
    csrPem: row.csrPem,
    certificatePem: row.certificatePem,
    chainPem: row.chainPem,
    caPem: row.caPem,
    publicKeyPem: row.publicKeyPem,
    createdAt: row.createdAt,
    createdByKeyId: row.createdByKeyId,
    activatedAt: row.activatedAt,
    rotatedAt: row.rotatedAt,
    replacesId: row.replacesId,
    replacedById: row.replacedById,
    revokedAt: row.revokedAt,
    revokedByKeyId: row.revokedByKeyId,
  };
}
