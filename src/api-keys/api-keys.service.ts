import { HttpStatus, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, IsNull } from 'typeorm';
import { Authenticator } from '../common/auth/authenticator';
import { Principal, Scope, SCOPES } from '../common/auth/scopes';
import { ApiError } from '../common/errors/api-error';
import { ErrorCode } from '../common/errors/error-codes';
import { ApiKey, ApiKeySource, displayParts, generateApiKeySecret, hashApiKey, isActive } from './api-key';
import { ApiKeyEntity, toApiKey } from './api-key.entity';

export interface NewApiKey {
  name: string;
  scopes: Scope[];
  expiresAt: Date | null;
}

/** Serialises every change to the set of keys, so two admins can never revoke the last two admin keys at once. */
const KEY_ADMIN_LOCK = 'payments-backend:api-keys';

/** last_used_at is informational: write it at most once a minute per key instead of on every request. */
const LAST_USED_WRITE_INTERVAL_MS = 60_000;

@Injectable()
export class ApiKeysService extends Authenticator {
  private readonly logger = new Logger(ApiKeysService.name);
  private readonly lastUsedWrites = new Map<string, number>();

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    super();
  }

  async authenticate(token: string): Promise<Principal | null> {
    const row = await this.dataSource.getRepository(ApiKeyEntity).findOneBy({ secretHash: hashApiKey(token) });
    if (!row || !isActive(toApiKey(row))) return null;
    this.recordUse(row.id);
    return { keyId: row.id, name: row.name, scopes: row.scopes };
  }

  async create(input: NewApiKey, by: Principal): Promise<{ apiKey: ApiKey; secret: string }> {
    if (input.expiresAt && input.expiresAt.getTime() <= Date.now()) {
      throw ApiError.validation([{ field: 'expiresAt', code: 'IN_THE_PAST', message: 'must be in the future' }]);
    }
    // keys:admin lets a key manage keys, not become more than it is: a new key holds at most the
    // scopes of the key that creates it.
    const beyond = [...new Set(input.scopes)].filter((scope) => !by.scopes.includes(scope));
    if (beyond.length > 0) {
      throw new ApiError(
        HttpStatus.FORBIDDEN,
        ErrorCode.SCOPE_ESCALATION,
        `A key can only grant scopes it holds itself; this one lacks ${beyond.join(', ')}. Remove ${beyond.length > 1 ? 'them' : 'it'}, or create the key with a key that holds ${beyond.length > 1 ? 'them' : 'it'}.`,
        { scopesNotHeld: beyond },
      );
    }
    const secret = generateApiKeySecret();
    const apiKey = await this.insert(this.dataSource.manager, input, secret, 'api', by.keyId);
    this.logger.log({ keyId: apiKey.id, scopes: apiKey.scopes, by: by.keyId }, 'API key created');
    return { apiKey, secret };
  }

  async list({ includeRevoked }: { includeRevoked: boolean }): Promise<ApiKey[]> {
    const rows = await this.dataSource.getRepository(ApiKeyEntity).find({
      where: includeRevoked ? {} : { revokedAt: IsNull() },
      order: { createdAt: 'DESC', id: 'ASC' },
    });
    return rows.map(toApiKey);
  }

  async get(id: string): Promise<ApiKey> {
    const row = await this.dataSource.getRepository(ApiKeyEntity).findOneBy({ id });
    if (!row) throw ApiError.notFound('API key', id);
    return toApiKey(row);
  }

  /** Revoking is idempotent; revoking the last active keys:admin key is refused so nobody is locked out. */
  async revoke(id: string, by: Principal): Promise<ApiKey> {
    const revoked = await this.dataSource.transaction(async (manager) => {
      await lock(manager);
      const repository = manager.getRepository(ApiKeyEntity);
      const row = await repository.findOneBy({ id });
      if (!row) throw ApiError.notFound('API key', id);
      if (row.revokedAt) return toApiKey(row);
      if (row.scopes.includes('keys:admin') && isActive(toApiKey(row))) {
        const otherAdmins = (await this.activeAdminKeys(manager)).filter((key) => key.id !== id);
        if (otherAdmins.length === 0) {
          throw new ApiError(
            HttpStatus.CONFLICT,
            ErrorCode.LAST_ADMIN_KEY,
            'This is the last active key with the keys:admin scope; create another admin key before revoking it.',
          );
        }
      }
      row.revokedAt = new Date();
      row.revokedByKeyId = by.keyId;
      return toApiKey(await repository.save(row));
    });
    this.logger.log({ keyId: id, by: by.keyId }, 'API key revoked');
    return revoked;
  }

  /**
   * Makes ADMIN_API_KEY a working admin key with every scope. When the variable changes,
   * the key it replaced is revoked, so rotating the variable rotates the key.
   */
  async ensureEnvironmentAdminKey(secret: string): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      await lock(manager);
      const repository = manager.getRepository(ApiKeyEntity);
      const hash = hashApiKey(secret);
      const existing = await repository.findOneBy({ secretHash: hash });
      if (existing) {
        if (existing.revokedAt || !SCOPES.every((scope) => existing.scopes.includes(scope))) {
          existing.revokedAt = null;
          existing.revokedByKeyId = null;
          existing.expiresAt = null;
          existing.scopes = [...SCOPES];
          await repository.save(existing);
          this.logger.warn({ keyId: existing.id }, 'ADMIN_API_KEY re-activated with every scope');
        }
        return;
      }
      const replaced = await repository.find({ where: { source: 'environment', revokedAt: IsNull() } });
      for (const old of replaced) {
        old.revokedAt = new Date();
        await repository.save(old);
      }
      const created = await this.insert(manager, adminKeyInput('admin (ADMIN_API_KEY)'), secret, 'environment', null);
      this.logger.log({ keyId: created.id, replaced: replaced.map((key) => key.id) }, 'Admin API key ensured from ADMIN_API_KEY');
    });
  }

  /** When no active keys:admin key exists, creates one and returns its secret (shown to the operator once). */
  async createFirstAdminKeyIfNone(): Promise<string | null> {
    return this.dataSource.transaction(async (manager) => {
      await lock(manager);
      if ((await this.activeAdminKeys(manager)).length > 0) return null;
      const secret = generateApiKeySecret();
      await this.insert(manager, adminKeyInput('admin (generated at first start)'), secret, 'bootstrap', null);
      return secret;
    });
  }

  private async activeAdminKeys(manager: EntityManager): Promise<ApiKey[]> {
    const rows = await manager
      .getRepository(ApiKeyEntity)
      .createQueryBuilder('key')
      .where('key.revoked_at IS NULL')
      .andWhere(':scope = ANY(key.scopes)', { scope: 'keys:admin' satisfies Scope })
      .getMany();
    return rows.map(toApiKey).filter((key) => isActive(key));
  }

  private async insert(
    manager: EntityManager,
    input: NewApiKey,
    secret: string,
    source: ApiKeySource,
    createdByKeyId: string | null,
  ): Promise<ApiKey> {
    const repository = manager.getRepository(ApiKeyEntity);
    const row = repository.create({
      name: input.name,
      scopes: [...new Set(input.scopes)].sort((a, b) => SCOPES.indexOf(a) - SCOPES.indexOf(b)),
      expiresAt: input.expiresAt,
      secretHash: hashApiKey(secret),
      ...displayParts(secret),
      source,
      createdByKeyId,
      lastUsedAt: null,
      revokedAt: null,
      revokedByKeyId: null,
    });
    return toApiKey(await repository.save(row));
  }

  private recordUse(keyId: string): void {
    const now = Date.now();
    if (now - (this.lastUsedWrites.get(keyId) ?? 0) < LAST_USED_WRITE_INTERVAL_MS) return;
    this.lastUsedWrites.set(keyId, now);
    this.dataSource
      .getRepository(ApiKeyEntity)
      .update({ id: keyId }, { lastUsedAt: new Date(now) })
      .catch((error: unknown) => this.logger.warn({ keyId, error: String(error) }, 'could not record API key use'));
  }
}

function adminKeyInput(name: string): NewApiKey {
  return { name, scopes: [...SCOPES], expiresAt: null };
}

async function lock(manager: EntityManager): Promise<void> {
  await manager.query('SELECT pg_advisory_xact_lock(hashtext($1))', [KEY_ADMIN_LOCK]);
}
