import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, IsNull } from 'typeorm';
import type { Scope } from '../../common/auth/scopes';
import type { Transaction } from '../../database/unit-of-work';
import type { ApiKey, ApiKeySource } from '../api-key';
import { ApiKeyEntity, toApiKey } from '../api-key.entity';

/** Serialises every change to the set of keys, so two admins can never revoke the last two admin keys at once. */
const KEY_ADMIN_LOCK = 'payments-backend:api-keys';

export interface NewApiKeyRow {
  name: string;
  owner: string | null;
  scopes: Scope[];
  expiresAt: Date | null;
  secretHash: string;
  prefix: string;
  lastFour: string;
  source: ApiKeySource;
  createdByKeyId: string | null;
}

/** The fields a change to an existing key writes. */
export type ApiKeyChange = Partial<Pick<ApiKey, 'scopes' | 'expiresAt' | 'revokedAt'>> & {
  revokedByKeyId?: string | null;
};

/** The api_keys table. Keys leave here as domain ApiKeys (the hash never does). */
@Injectable()
export class ApiKeysRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** One transaction holding the key-administration lock: every change to the set of keys runs in one. */
  changeKeys<T>(work: (transaction: Transaction) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(async (transaction) => {
      await transaction.query('SELECT pg_advisory_xact_lock(hashtext($1))', [KEY_ADMIN_LOCK]);
      return work(transaction);
    });
  }

  async findByHash(secretHash: string, transaction?: Transaction): Promise<ApiKey | null> {
    const row = await (transaction ?? this.dataSource.manager).getRepository(ApiKeyEntity).findOneBy({ secretHash });
    return row ? toApiKey(row) : null;
  }

  async findById(id: string, transaction?: Transaction): Promise<ApiKey | null> {
    const row = await (transaction ?? this.dataSource.manager).getRepository(ApiKeyEntity).findOneBy({ id });
    return row ? toApiKey(row) : null;
  }

  async list({ includeRevoked }: { includeRevoked: boolean }): Promise<ApiKey[]> {
    const rows = await this.dataSource.getRepository(ApiKeyEntity).find({
      where: includeRevoked ? {} : { revokedAt: IsNull() },
      order: { createdAt: 'DESC', id: 'ASC' },
    });
    return rows.map(toApiKey);
  }

  /** Unrevoked keys holding `scope` (expired ones included: the caller decides what active means). */
  async unrevokedWithScope(transaction: Transaction, scope: Scope): Promise<ApiKey[]> {
    const rows = await transaction
      .getRepository(ApiKeyEntity)
      .createQueryBuilder('key')
      .where('key.revoked_at IS NULL')
      .andWhere(':scope = ANY(key.scopes)', { scope })
      .getMany();
    return rows.map(toApiKey);
  }

  async unrevokedFromSource(transaction: Transaction, source: ApiKeySource): Promise<ApiKey[]> {
    const rows = await transaction.getRepository(ApiKeyEntity).find({ where: { source, revokedAt: IsNull() } });
    return rows.map(toApiKey);
  }

  async insert(row: NewApiKeyRow, transaction?: Transaction): Promise<ApiKey> {
    const repository = (transaction ?? this.dataSource.manager).getRepository(ApiKeyEntity);
    return toApiKey(
      await repository.save(repository.create({ ...row, lastUsedAt: null, revokedAt: null, revokedByKeyId: null })),
    );
  }

  async update(transaction: Transaction, id: string, change: ApiKeyChange): Promise<void> {
    await transaction.getRepository(ApiKeyEntity).update({ id }, change);
  }

  /** Informational, written at most once a minute per key by the caller. */
  async recordUse(id: string, at: Date): Promise<void> {
    await this.dataSource.getRepository(ApiKeyEntity).update({ id }, { lastUsedAt: at });
  }
}
