import { HttpStatus, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { Client } from 'pg';
import { DataSource, EntityManager, In } from 'typeorm';
import { ApiError } from '../common/errors/api-error';
import { open, rewrap, seal } from './crypto/envelope';
import { MasterKeyring } from './crypto/master-keyring';
import {
  Actor,
  Credential,
  CredentialKind,
  CredentialStatus,
  EXPIRING_WITHIN_DAYS,
  EXPIRING_WITHIN_DAYS_BY_KIND,
  IN_SERVICE_STATUSES,
  Provider,
  ProviderEnvironment,
  SecretMaterial,
  SYSTEM_ACTOR,
} from './domain/credential';
import { CredentialEntity, CredentialEventEntity, CredentialSecretEntity, toCredential } from './persistence/credential.entity';

export interface CredentialChange {
  credentialId: string;
  provider: Provider;
  environment: ProviderEnvironment;
  kind: CredentialKind;
  status: CredentialStatus;
}

/** A credential in service with its secret opened, for the provider clients. Keep it in memory only. */
export interface ActiveCredential {
  credential: Credential;
  secret: SecretMaterial;
}

export type NewCredential = Omit<
  Credential,
  | 'expiresAt'
  | 'id'
  | 'status'
  | 'createdAt'
  | 'createdByKeyId'
  | 'activatedAt'
  | 'rotatedAt'
  | 'replacesId'
  | 'replacedById'
  | 'revokedAt'
  | 'revokedByKeyId'
> & { expiresAt?: Date | null };

/** A new credential that is only a secret (no certificate, CSR or public key). */
export function secretOnlyCredential(
  fields: Pick<Credential, 'provider' | 'environment' | 'kind' | 'label' | 'hints'> & { attributes?: Record<string, string>; expiresAt?: Date },
): NewCredential {
  return {
    attributes: {},
    certificate: null,
    keyAlgorithm: null,
    csrPem: null,
    certificatePem: null,
    chainPem: null,
    caPem: null,
    publicKeyPem: null,
    ...fields,
  };
}

export interface CredentialFilter {
  provider?: Provider;
  environment?: ProviderEnvironment;
  kind?: CredentialKind;
  status?: CredentialStatus;
  expiringWithinDays?: number;
}

const CHANGES_CHANNEL = 'credential_changes';
const DAY_MS = 86_400_000;

/**
 * The vault: stores credentials with their secrets sealed, swaps the one in service atomically,
 * keeps the audit trail, and tells provider clients when what they hold changed (in this process
 * directly, and in other replicas through PostgreSQL LISTEN/NOTIFY).
 */
@Injectable()
export class CredentialVault implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('CredentialVault');
  private readonly changes = new EventEmitter();
  private listener: Client | undefined;
  private closed = false;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly keyring: MasterKeyring,
  ) {
    this.changes.setMaxListeners(100);
  }

  async onModuleInit(): Promise<void> {
    await this.listenForOtherReplicas();
  }

  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    await this.listener?.end().catch(() => undefined);
  }

  /** Called with every change to a credential's status (activation, rotation, expiry, revocation). */
  onChange(listener: (change: CredentialChange) => void): () => void {
    this.changes.on('change', listener);
    return () => this.changes.off('change', listener);
  }

  /** Stores a new credential (pending, or put in service at once with `activate: true`) with its secret sealed. */
  async create(input: NewCredential, secret: SecretMaterial | null, actor: Actor, { activate }: { activate: boolean }): Promise<Credential> {
    const id = randomUUID();
    const { credential, change } = await this.dataSource.transaction(async (manager) => {
      const row = manager.getRepository(CredentialEntity).create({
        ...toRow(input),
        id,
        status: 'pending',
        createdByKeyId: actor.keyId,
        activatedAt: null,
        rotatedAt: null,
        replacesId: null,
        replacedById: null,
        revokedAt: null,
        revokedByKeyId: null,
      });
      await manager.getRepository(CredentialEntity).insert(row);
      if (secret) {
        const sealed = seal(this.keyring, id, Buffer.from(JSON.stringify(secret), 'utf8'));
        await manager.getRepository(CredentialSecretEntity).insert({ credentialId: id, ...sealed, rewrappedAt: null });
      }
      await this.audit(manager, id, 'created', actor, { provider: input.provider, environment: input.environment, kind: input.kind });
      if (!activate) return { credential: toCredential(row), change: null };
      return this.putInService(manager, id, {}, actor);
    });
    if (change) this.emitLocally(change);
    return credential;
  }

  /**
   * Puts a pending credential in service, with the public material that completes it (e.g. the
   * signed certificate). The one it replaces is retired in the same transaction.
   */
  async activate(id: string, completion: Partial<NewCredential>, actor: Actor): Promise<Credential> {
    const { credential, change } = await this.dataSource.transaction((manager) => this.putInService(manager, id, completion, actor));
    this.emitLocally(change);
    return credential;
  }

  async get(id: string): Promise<Credential> {
    const row = await this.dataSource.getRepository(CredentialEntity).findOneBy({ id });
    if (!row) throw ApiError.notFound('credential', id);
    return toCredential(row);
  }

  async list(filter: CredentialFilter): Promise<Credential[]> {
    const query = this.dataSource.getRepository(CredentialEntity).createQueryBuilder('c');
    if (filter.provider) query.andWhere('c.provider = :provider', { provider: filter.provider });
    if (filter.environment) query.andWhere('c.environment = :environment', { environment: filter.environment });
    if (filter.kind) query.andWhere('c.kind = :kind', { kind: filter.kind });
    if (filter.status) query.andWhere('c.status = :status', { status: filter.status });
    if (filter.expiringWithinDays !== undefined) {
      query
        .andWhere('c.not_after IS NOT NULL')
        .andWhere('c.not_after <= :limit', { limit: new Date(Date.now() + filter.expiringWithinDays * DAY_MS) })
        .andWhere('c.status IN (:...inService)', { inService: IN_SERVICE_STATUSES });
    }
    const rows = await query.orderBy('c.created_at', 'DESC').addOrderBy('c.id', 'ASC').getMany();
    return rows.map(toCredential);
  }

  /** Credentials of one provider in other environments, for cross-environment rules. */
  async findByAttribute(provider: Provider, kind: CredentialKind, attribute: string, value: string): Promise<Credential[]> {
    const rows = await this.dataSource
      .getRepository(CredentialEntity)
      .createQueryBuilder('c')
      .where('c.provider = :provider AND c.kind = :kind', { provider, kind })
      .andWhere('c.status <> :revoked', { revoked: 'revoked' })
      .andWhere(`c.attributes ->> :attribute = :value`, { attribute, value })
      .getMany();
    return rows.map(toCredential);
  }

  async revoke(id: string, actor: Actor): Promise<Credential> {
    return this.endService(id, 'revoked', actor);
  }

  async retire(id: string, actor: Actor): Promise<Credential> {
    return this.endService(id, 'retired', actor);
  }

  async events(id: string): Promise<CredentialEventEntity[]> {
    await this.get(id);
    return this.dataSource.getRepository(CredentialEventEntity).find({ where: { credentialId: id }, order: { id: 'ASC' } });
  }

  /** Opens a credential's secret. For the provider clients and the vault's own flows only. */
  async openSecret(id: string): Promise<SecretMaterial> {
    const row = await this.dataSource.getRepository(CredentialSecretEntity).findOneBy({ credentialId: id });
    if (!row) throw new ApiError(HttpStatus.CONFLICT, 'CREDENTIAL_HAS_NO_SECRET', `Credential ${id} holds no secret material.`);
    return JSON.parse(open(this.keyring, id, row).toString('utf8')) as SecretMaterial;
  }

  /** The credential in service for provider + environment + kind, with its secret opened; null when none. */
  async activeMaterial(provider: Provider, environment: ProviderEnvironment, kind: CredentialKind): Promise<ActiveCredential | null> {
    const row = await this.dataSource
      .getRepository(CredentialEntity)
      .findOneBy({ provider, environment, kind, status: In([...IN_SERVICE_STATUSES]) });
    if (!row) return null;
    return { credential: toCredential(row), secret: await this.openSecret(row.id) };
  }

  /**
   * Moves certificates in service to expiring (within 30 days) or expired, and back to active
   * when a date was corrected. Idempotent, so every replica may run it.
   */
  async refreshExpiry(now = new Date()): Promise<CredentialChange[]> {
    const changes: CredentialChange[] = [];
    await this.dataSource.transaction(async (manager) => {
      const rows = await manager
        .getRepository(CredentialEntity)
        .createQueryBuilder('c')
        .setLock('pessimistic_write')
        .setOnLocked('skip_locked')
        .where('c.status IN (:...inService)', { inService: IN_SERVICE_STATUSES })
        .andWhere('c.not_after IS NOT NULL')
        .getMany();
      for (const row of rows) {
        const status = statusForValidity(row.notAfter as Date, now, row.kind);
        if (status === row.status) continue;
        const from = row.status;
        row.status = status;
        await manager.getRepository(CredentialEntity).update({ id: row.id }, { status });
        await this.audit(manager, row.id, status === 'active' ? 'validity_restored' : status, SYSTEM_ACTOR, {
          from,
          notAfter: row.notAfter?.toISOString(),
        });
        const change = changeOf(row);
        changes.push(change);
        await notify(manager, change);
      }
    });
    changes.forEach((change) => this.emitLocally(change));
    return changes;
  }

  /** Re-wraps every data key under the current master key. Returns how many were re-wrapped. */
  async rewrapAll(actor: Actor): Promise<number> {
    let count = 0;
    for (;;) {
      const done = await this.dataSource.transaction(async (manager) => {
        const rows = await manager
          .getRepository(CredentialSecretEntity)
          .createQueryBuilder('s')
          .setLock('pessimistic_write')
          .setOnLocked('skip_locked')
          .where('s.master_key_id <> :current', { current: this.keyring.current.id })
          .limit(100)
          .getMany();
        for (const row of rows) {
          const from = row.masterKeyId;
          const rewrapped = rewrap(this.keyring, row.credentialId, row);
          await manager
            .getRepository(CredentialSecretEntity)
            .update(
              { credentialId: row.credentialId },
              { masterKeyId: rewrapped.masterKeyId, wrappedDataKey: rewrapped.wrappedDataKey, rewrappedAt: new Date() },
            );
          await this.audit(manager, row.credentialId, 'data_key_rewrapped', actor, { from, to: rewrapped.masterKeyId });
        }
        count += rows.length;
        return rows.length === 0;
      });
      if (done) return count;
    }
  }

  /** Records an event about a credential outside a larger transaction. */
  async recordEvent(credentialId: string, type: string, actor: Actor, details: Record<string, unknown>): Promise<void> {
    await this.audit(this.dataSource.manager, credentialId, type, actor, details);
  }

  async audit(
    manager: EntityManager,
    credentialId: string | null,
    type: string,
    actor: Actor,
    details: Record<string, unknown> = {},
  ): Promise<void> {
    const event = manager.getRepository(CredentialEventEntity).create({ credentialId, type, actorKeyId: actor.keyId, actorName: actor.name, details });
    await manager.getRepository(CredentialEventEntity).save(event, { reload: false });
  }

  private async putInService(
    manager: EntityManager,
    id: string,
    completion: Partial<NewCredential>,
    actor: Actor,
  ): Promise<{ credential: Credential; change: CredentialChange }> {
    const repository = manager.getRepository(CredentialEntity);
    const row = await repository.findOne({ where: { id }, lock: { mode: 'pessimistic_write' } });
    if (!row) throw ApiError.notFound('credential', id);
    if (row.status !== 'pending') {
      throw new ApiError(
        HttpStatus.CONFLICT,
        'CREDENTIAL_NOT_PENDING',
        `Credential ${id} is ${row.status}; only a pending credential can be activated. Start a new one instead.`,
        { status: row.status },
      );
    }
    // One slot per provider + environment + kind: serialise everybody activating into it.
    await manager.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`credential-slot:${row.provider}:${row.environment}:${row.kind}`]);
    const now = new Date();
    const previous = await repository.findOneBy({
      provider: row.provider,
      environment: row.environment,
      kind: row.kind,
      status: In([...IN_SERVICE_STATUSES]),
    });
    if (previous) {
      await repository.update({ id: previous.id }, { status: 'retired', rotatedAt: now, replacedById: row.id });
      await this.audit(manager, previous.id, 'rotated_out', actor, { replacedById: row.id });
    }
    Object.assign(row, toRow({ ...toCredential(row), ...completion }), {
      status: row.notAfter || completion.certificate ? statusForValidity((completion.certificate?.notAfter ?? row.notAfter) as Date, now, row.kind) : 'active',
      activatedAt: now,
      replacesId: previous?.id ?? null,
    });
    await repository.save(row);
    await this.audit(manager, row.id, previous ? 'rotated_in' : 'activated', actor, previous ? { replacesId: previous.id } : {});
    const change = changeOf(row);
    await notify(manager, change);
    return { credential: toCredential(row), change };
  }

  private async endService(id: string, status: 'revoked' | 'retired', actor: Actor): Promise<Credential> {
    const { credential, change } = await this.dataSource.transaction(async (manager) => {
      const repository = manager.getRepository(CredentialEntity);
      const row = await repository.findOne({ where: { id }, lock: { mode: 'pessimistic_write' } });
      if (!row) throw ApiError.notFound('credential', id);
      if (row.status === 'revoked' || (row.status === 'retired' && status === 'retired')) {
        return { credential: toCredential(row), change: null };
      }
      const now = new Date();
      const update: Partial<CredentialEntity> =
        status === 'revoked' ? { status, revokedAt: now, revokedByKeyId: actor.keyId } : { status, rotatedAt: now };
      await repository.update({ id }, update);
      Object.assign(row, update);
      await this.audit(manager, id, status, actor);
      const change = changeOf(row);
      await notify(manager, change);
      return { credential: toCredential(row), change };
    });
    if (change) this.emitLocally(change);
    return credential;
  }

  private emitLocally(change: CredentialChange): void {
    this.changes.emit('change', change);
  }

  private async listenForOtherReplicas(): Promise<void> {
    const options = this.dataSource.options as { url?: string };
    if (!options.url || this.closed) return;
    const client = new Client({ connectionString: options.url, application_name: 'payments-backend:credential-changes' });
    client.on('notification', (message) => {
      if (message.channel !== CHANGES_CHANNEL || !message.payload) return;
      try {
        this.emitLocally(JSON.parse(message.payload) as CredentialChange);
      } catch {
        this.logger.warn('ignored a malformed credential change notification');
      }
    });
    client.on('error', (error) => {
      this.logger.warn({ error: error.message }, 'credential change listener lost its connection; reconnecting');
      this.listener = undefined;
      setTimeout(() => void this.listenForOtherReplicas().catch(() => undefined), 1_000).unref();
    });
    await client.connect();
    await client.query(`LISTEN ${CHANGES_CHANNEL}`);
    this.listener = client;
  }
}

function statusForValidity(notAfter: Date, now: Date, kind: CredentialKind): CredentialStatus {
  if (notAfter.getTime() <= now.getTime()) return 'expired';
  const warnDays = EXPIRING_WITHIN_DAYS_BY_KIND[kind] ?? EXPIRING_WITHIN_DAYS;
  if (notAfter.getTime() - now.getTime() <= warnDays * DAY_MS) return 'expiring';
  return 'active';
}

function changeOf(row: CredentialEntity): CredentialChange {
  return { credentialId: row.id, provider: row.provider, environment: row.environment, kind: row.kind, status: row.status };
}

/** Delivered at commit, to every replica listening (including this one's listener). */
async function notify(manager: EntityManager, change: CredentialChange): Promise<void> {
  await manager.query('SELECT pg_notify($1, $2)', [CHANGES_CHANNEL, JSON.stringify(change)]);
}

function toRow(credential: Partial<Credential>): Partial<CredentialEntity> {
  const row: Partial<CredentialEntity> = {};
  const copy = [
    'provider', 'environment', 'kind', 'label', 'hints', 'attributes', 'keyAlgorithm', 'csrPem',
    'certificatePem', 'chainPem', 'caPem', 'publicKeyPem',
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
