import { insertAuditEvent } from '../../audit/audit-trail';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In } from 'typeorm';
import type { Transaction } from '../../database/unit-of-work';
import type { SealedSecret } from '../crypto/envelope';
import {
  Credential,
  CredentialEvent,
  CredentialKind,
  CredentialStatus,
  IN_SERVICE_STATUSES,
  Provider,
  ProviderEnvironment,
} from '../domain/credential';
import { CredentialEntity, CredentialEventEntity, CredentialSecretEntity, toCredential } from './credential.entity';

export interface CredentialQuery {
  provider?: Provider;
  environment?: ProviderEnvironment;
  kind?: CredentialKind;
  status?: CredentialStatus;
  /** In service, with a notAfter at or before this. */
  inServiceExpiringBy?: Date;
}

/** The lifecycle columns of a credential (what activation, rotation, expiry and revocation change). */
export type CredentialLifecycle = Partial<
  Pick<
    Credential,
    'status' | 'activatedAt' | 'rotatedAt' | 'replacesId' | 'replacedById' | 'revokedAt' | 'revokedByKeyId'
  >
>;

/** A sealed secret and the credential it belongs to. */
export interface StoredSecret {
  credentialId: string;
  sealed: SealedSecret;
}

export type NewCredentialEvent = Omit<CredentialEvent, 'id' | 'occurredAt'>;

/**
 * credentials, credential_secrets and credential_events. Credentials leave here as domain
 * Credentials; secrets only sealed (the vault opens them).
 */
@Injectable()
export class CredentialsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Inserts a credential; returns it as stored (createdAt from the database). */
  async insert(transaction: Transaction, credential: Omit<Credential, 'createdAt'>): Promise<Credential> {
    const repository = transaction.getRepository(CredentialEntity);
    const row = repository.create({
      ...publicColumns(credential),
      ...lifecycleColumns(credential),
      id: credential.id,
      createdByKeyId: credential.createdByKeyId,
    });
    await repository.insert(row);
    return toCredential(row);
  }

  async insertSecret(transaction: Transaction, credentialId: string, sealed: SealedSecret): Promise<void> {
    await transaction.getRepository(CredentialSecretEntity).insert({ credentialId, ...sealed, rewrappedAt: null });
  }

  async findById(id: string): Promise<Credential | null> {
    const row = await this.dataSource.getRepository(CredentialEntity).findOneBy({ id });
    return row ? toCredential(row) : null;
  }

  /** SELECT … FOR UPDATE. */
  async lockById(transaction: Transaction, id: string): Promise<Credential | null> {
    const row = await transaction
      .getRepository(CredentialEntity)
      .findOne({ where: { id }, lock: { mode: 'pessimistic_write' } });
    return row ? toCredential(row) : null;
  }

  /** The credential in service for this provider + environment + kind (at most one: a unique index). */
  async findInService(
    provider: Provider,
    environment: ProviderEnvironment,
    kind: CredentialKind,
    transaction?: Transaction,
  ): Promise<Credential | null> {
    const row = await (transaction ?? this.dataSource.manager)
      .getRepository(CredentialEntity)
      .findOneBy({ provider, environment, kind, status: In([...IN_SERVICE_STATUSES]) });
    return row ? toCredential(row) : null;
  }

  /** Newest first. */
  async list(query: CredentialQuery): Promise<Credential[]> {
    const builder = this.dataSource.getRepository(CredentialEntity).createQueryBuilder('c');
    if (query.provider) builder.andWhere('c.provider = :provider', { provider: query.provider });
    if (query.environment) builder.andWhere('c.environment = :environment', { environment: query.environment });
    if (query.kind) builder.andWhere('c.kind = :kind', { kind: query.kind });
    if (query.status) builder.andWhere('c.status = :status', { status: query.status });
    if (query.inServiceExpiringBy !== undefined) {
      builder
        .andWhere('c.not_after IS NOT NULL')
        .andWhere('c.not_after <= :limit', { limit: query.inServiceExpiringBy })
        .andWhere('c.status IN (:...inService)', { inService: IN_SERVICE_STATUSES });
    }
    const rows = await builder.orderBy('c.created_at', 'DESC').addOrderBy('c.id', 'ASC').getMany();
    return rows.map(toCredential);
  }

  /** Unrevoked credentials of a provider and kind whose attribute has this value. */
  async findByAttribute(
    provider: Provider,
    kind: CredentialKind,
    attribute: string,
    value: string,
  ): Promise<Credential[]> {
    const rows = await this.dataSource
      .getRepository(CredentialEntity)
      .createQueryBuilder('c')
      .where('c.provider = :provider AND c.kind = :kind', { provider, kind })
      .andWhere('c.status <> :revoked', { revoked: 'revoked' })
      .andWhere(`c.attributes ->> :attribute = :value`, { attribute, value })
      .getMany();
    return rows.map(toCredential);
  }

  /** In-service credentials that expire, locked; those locked by another replica are skipped. */
  async lockInServiceWithExpiry(transaction: Transaction): Promise<Credential[]> {
    const rows = await transaction
      .getRepository(CredentialEntity)
      .createQueryBuilder('c')
      .setLock('pessimistic_write')
      .setOnLocked('skip_locked')
      .where('c.status IN (:...inService)', { inService: IN_SERVICE_STATUSES })
      .andWhere('c.not_after IS NOT NULL')
      .getMany();
    return rows.map(toCredential);
  }

  async updateLifecycle(transaction: Transaction, id: string, change: CredentialLifecycle): Promise<void> {
    await transaction.getRepository(CredentialEntity).update({ id }, lifecycleColumns(change));
  }

  /**
   * Writes a credential's public material and lifecycle as given (e.g. its signed certificate on
   * activation); returns it as the row now reads (expiresAt follows the certificate).
   */
  async replace(transaction: Transaction, credential: Credential): Promise<Credential> {
    const columns = { ...publicColumns(credential), ...lifecycleColumns(credential) };
    await transaction.getRepository(CredentialEntity).update({ id: credential.id }, columns);
    return toCredential(
      Object.assign(
        transaction
          .getRepository(CredentialEntity)
          .create({ id: credential.id, createdAt: credential.createdAt, createdByKeyId: credential.createdByKeyId }),
        columns,
      ),
    );
  }

  /** One slot per provider + environment + kind: serialises everybody putting a credential into it, until commit. */
  async lockServiceSlot(
    transaction: Transaction,
    credential: Pick<Credential, 'provider' | 'environment' | 'kind'>,
  ): Promise<void> {
    await transaction.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
      `credential-slot:${credential.provider}:${credential.environment}:${credential.kind}`,
    ]);
  }

  async findSecret(credentialId: string): Promise<StoredSecret | null> {
    const row = await this.dataSource.getRepository(CredentialSecretEntity).findOneBy({ credentialId });
    return row ? toStoredSecret(row) : null;
  }

  /** Up to `limit` secrets wrapped under another master key than `masterKeyId`, locked; others' locked rows skipped. */
  async lockSecretsNotUnder(transaction: Transaction, masterKeyId: string, limit: number): Promise<StoredSecret[]> {
    const rows = await transaction
      .getRepository(CredentialSecretEntity)
      .createQueryBuilder('s')
      .setLock('pessimistic_write')
      .setOnLocked('skip_locked')
      .where('s.master_key_id <> :current', { current: masterKeyId })
      .limit(limit)
      .getMany();
    return rows.map(toStoredSecret);
  }

  async storeRewrappedKey(
    transaction: Transaction,
    credentialId: string,
    rewrapped: Pick<SealedSecret, 'masterKeyId' | 'wrappedDataKey'>,
  ): Promise<void> {
    await transaction
      .getRepository(CredentialSecretEntity)
      .update(
        { credentialId },
        { masterKeyId: rewrapped.masterKeyId, wrappedDataKey: rewrapped.wrappedDataKey, rewrappedAt: new Date() },
      );
  }

  /**
   * Appends to the credential's history and to the operator audit trail (`credential.<type>`),
   * together, inside the transaction when one is given.
   */
  async appendEvent(
    transaction: Transaction | undefined,
    event: NewCredentialEvent,
    actorPrincipal: string | null,
  ): Promise<void> {
    const write = async (manager: Transaction) => {
      const repository = manager.getRepository(CredentialEventEntity);
      await repository.save(repository.create(event), { reload: false });
      await insertAuditEvent(manager, {
        action: `credential.${event.type}`,
        subjectType: 'credential',
        subjectId: event.credentialId,
        actor: { keyId: event.actorKeyId, principal: actorPrincipal },
        detail: event.details,
      });
    };
    if (transaction) await write(transaction);
    else await this.dataSource.transaction(write);
  }

  /** Whether the credential's trail has an event of this type, read in the transaction (under its row lock). */
  async hasEvent(transaction: Transaction, credentialId: string, type: string): Promise<boolean> {
    return transaction.getRepository(CredentialEventEntity).existsBy({ credentialId, type });
  }

  async events(credentialId: string): Promise<CredentialEvent[]> {
    const rows = await this.dataSource
      .getRepository(CredentialEventEntity)
      .find({ where: { credentialId }, order: { id: 'ASC' } });
    return rows.map((row) => ({
      id: row.id,
      credentialId: row.credentialId,
      type: row.type,
      actorKeyId: row.actorKeyId,
      actorName: row.actorName,
      details: row.details,
      occurredAt: row.occurredAt,
    }));
  }
}

function toStoredSecret(row: CredentialSecretEntity): StoredSecret {
  return {
    credentialId: row.credentialId,
    sealed: { masterKeyId: row.masterKeyId, wrappedDataKey: row.wrappedDataKey, ciphertext: row.ciphertext },
  };
}

function lifecycleColumns(change: CredentialLifecycle): Partial<CredentialEntity> {
  const row: Partial<CredentialEntity> = {};
  const copy = [
    'status',
    'activatedAt',
    'rotatedAt',
    'replacesId',
    'replacedById',
    'revokedAt',
    'revokedByKeyId',
  ] as const;
  for (const field of copy) {
    if (change[field] !== undefined) (row as Record<string, unknown>)[field] = change[field];
  }
  return row;
}

/**
 * The columns of a credential's description and public material. A certificate sets the
 * certificate columns and notAfter; expiresAt alone (a token) sets notAfter only.
 */
export function publicColumns(credential: Partial<Credential>): Partial<CredentialEntity> {
  const row: Partial<CredentialEntity> = {};
  const copy = [
    'provider',
    'environment',
    'kind',
    'label',
    'hints',
    'attributes',
    'keyAlgorithm',
    'csrPem',
    'certificatePem',
    'chainPem',
    'caPem',
    'publicKeyPem',
  ] as const;
  for (const field of copy) {
    if (credential[field] !== undefined) (row as Record<string, unknown>)[field] = credential[field];
  }
  if (credential.expiresAt !== undefined && credential.expiresAt !== null) row.notAfter = credential.expiresAt;
  if (credential.certificate !== undefined && (credential.certificate !== null || credential.expiresAt == null)) {
    const certificate = credential.certificate;
    row.subject = certificate?.subject ?? null;
    row.issuer = certificate?.issuer ?? null;
    row.serialNumber = certificate?.serialNumber ?? null;
    row.fingerprintSha256 = certificate?.fingerprintSha256 ?? null;
    row.notBefore = certificate?.notBefore ?? null;
    row.notAfter = certificate?.notAfter ?? null;
  }
  return row;
}
