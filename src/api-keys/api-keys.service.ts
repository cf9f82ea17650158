import { HttpStatus, Injectable, Logger } from '@nestjs/common';
import { AuditTrail } from '../audit/audit-trail';
import { Authenticator } from '../common/auth/authenticator';
import { Principal, principalOfKey, Scope, SCOPES } from '../common/auth/scopes';
import { ApiError } from '../common/errors/api-error';
import { ErrorCode } from '../common/errors/error-codes';
import type { Transaction } from '../database/unit-of-work';
import { ApiKey, ApiKeySource, displayParts, generateApiKeySecret, hashApiKey, isActive } from './api-key';
import { ApiKeysRepository } from './persistence/api-keys.repository';

export interface NewApiKey {
  name: string;
  owner?: string;
  scopes: Scope[];
  expiresAt: Date | null;
}

/** last_used_at is informational: write it at most once a minute per key instead of on every request. */
const LAST_USED_WRITE_INTERVAL_MS = 60_000;

/**
 * How long a key found by its hash is trusted without asking the database again. Every request
 * used to cost a SELECT; under load one key makes hundreds a second. One second bounds what a
 * revocation on another replica may take to apply (this replica drops the key at once).
 */
const KEY_LOOKUP_TTL_MS = 1_000;
/** Bounds the cache: only keys that exist are cached, and a flood of distinct valid keys is not a thing. */
const KEY_LOOKUP_MAX_ENTRIES = 10_000;

@Injectable()
export class ApiKeysService extends Authenticator {
  private readonly logger = new Logger(ApiKeysService.name);
  private readonly lastUsedWrites = new Map<string, number>();
  /** Found keys by secret hash, each trusted until its time (never a miss: unknown tokens always ask). */
  private readonly lookups = new Map<string, { key: ApiKey; until: number }>();

  constructor(
    private readonly keys: ApiKeysRepository,
    private readonly audit: AuditTrail,
  ) {
    super();
  }

  async authenticate(token: string): Promise<Principal | null> {
    const key = await this.findKey(hashApiKey(token));
    if (!key || !isActive(key)) return null;
    this.recordUse(key.id);
    return { keyId: key.id, name: key.name, principal: principalOfKey(key), scopes: key.scopes };
  }

  private async findKey(secretHash: string): Promise<ApiKey | null> {
    const now = Date.now();
    const cached = this.lookups.get(secretHash);
    if (cached && cached.until > now) return cached.key;
    const key = await this.keys.findByHash(secretHash);
    if (!key) {
      this.lookups.delete(secretHash);
      return null;
    }
    if (this.lookups.size >= KEY_LOOKUP_MAX_ENTRIES) this.lookups.clear();
    this.lookups.set(secretHash, { key, until: now + KEY_LOOKUP_TTL_MS });
    return key;
  }

  /** A key changed here (revoked, reactivated): this replica stops trusting its cached copy at once. */
  private forgetKey(id: string): void {
    for (const [hash, entry] of this.lookups) if (entry.key.id === id) this.lookups.delete(hash);
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
    const apiKey = await this.keys.changeKeys(async (transaction) => {
      const created = await this.insert(transaction, input, secret, 'api', by.keyId);
      await this.audit.record(transaction, {
        action: 'api_key.created',
        subjectType: 'api_key',
        subjectId: created.id,
        actor: { keyId: by.keyId, principal: by.principal },
        detail: { name: created.name, owner: created.owner, scopes: created.scopes, expiresAt: created.expiresAt },
      });
      return created;
    });
    this.logger.log({ keyId: apiKey.id, scopes: apiKey.scopes, by: by.keyId }, 'API key created');
    return { apiKey, secret };
  }

  async list({ includeRevoked }: { includeRevoked: boolean }): Promise<ApiKey[]> {
    return this.keys.list({ includeRevoked });
  }

  async get(id: string): Promise<ApiKey> {
    const key = await this.keys.findById(id);
    if (!key) throw ApiError.notFound('API key', id);
    return key;
  }

  /** Revoking is idempotent; revoking the last active keys:admin key is refused so nobody is locked out. */
  async revoke(id: string, by: Principal): Promise<ApiKey> {
    const revoked = await this.keys.changeKeys(async (transaction) => {
      const key = await this.keys.findById(id, transaction);
      if (!key) throw ApiError.notFound('API key', id);
      if (key.revokedAt) return key;
      if (key.scopes.includes('keys:admin') && isActive(key)) {
        const otherAdmins = (await this.activeAdminKeys(transaction)).filter((other) => other.id !== id);
        if (otherAdmins.length === 0) {
          throw new ApiError(
            HttpStatus.CONFLICT,
            ErrorCode.LAST_ADMIN_KEY,
            'This is the last active key with the keys:admin scope; create another admin key before revoking it.',
          );
        }
      }
      const revokedAt = new Date();
      await this.keys.update(transaction, id, { revokedAt, revokedByKeyId: by.keyId });
      await this.audit.record(transaction, {
        action: 'api_key.revoked',
        subjectType: 'api_key',
        subjectId: id,
        actor: { keyId: by.keyId, principal: by.principal },
        detail: { name: key.name, owner: key.owner },
      });
      return { ...key, revokedAt };
    });
    this.forgetKey(id);
    this.logger.log({ keyId: id, by: by.keyId }, 'API key revoked');
    return revoked;
  }

  /**
   * Makes ADMIN_API_KEY a working admin key with every scope. When the variable changes,
   * the key it replaced is revoked, so rotating the variable rotates the key.
   */
  async ensureEnvironmentAdminKey(secret: string): Promise<void> {
    await this.keys.changeKeys(async (transaction) => {
      const existing = await this.keys.findByHash(hashApiKey(secret), transaction);
      if (existing) {
        if (existing.revokedAt || !SCOPES.every((scope) => existing.scopes.includes(scope))) {
          await this.keys.update(transaction, existing.id, {
            revokedAt: null,
            revokedByKeyId: null,
            expiresAt: null,
            scopes: [...SCOPES],
          });
          this.logger.warn({ keyId: existing.id }, 'ADMIN_API_KEY re-activated with every scope');
        }
        return;
      }
      const replaced = await this.keys.unrevokedFromSource(transaction, 'environment');
      for (const old of replaced) await this.keys.update(transaction, old.id, { revokedAt: new Date() });
      const created = await this.insert(
        transaction,
        adminKeyInput('admin (ADMIN_API_KEY)'),
        secret,
        'environment',
        null,
      );
      this.logger.log(
        { keyId: created.id, replaced: replaced.map((key) => key.id) },
        'Admin API key ensured from ADMIN_API_KEY',
      );
    });
    this.lookups.clear(); // keys changed: ask the database again
  }

  /** When no active keys:admin key exists, creates one and returns its secret (shown to the operator once). */
  async createFirstAdminKeyIfNone(): Promise<string | null> {
    return this.keys.changeKeys(async (transaction) => {
      if ((await this.activeAdminKeys(transaction)).length > 0) return null;
      const secret = generateApiKeySecret();
      await this.insert(transaction, adminKeyInput('admin (generated at first start)'), secret, 'bootstrap', null);
      return secret;
    });
  }

  private async activeAdminKeys(transaction: Transaction): Promise<ApiKey[]> {
    return (await this.keys.unrevokedWithScope(transaction, 'keys:admin' satisfies Scope)).filter((key) =>
      isActive(key),
    );
  }

  private insert(
    transaction: Transaction | undefined,
    input: NewApiKey,
    secret: string,
    source: ApiKeySource,
    createdByKeyId: string | null,
  ): Promise<ApiKey> {
    return this.keys.insert(
      {
        name: input.name,
        owner: input.owner ?? null,
        scopes: [...new Set(input.scopes)].sort((a, b) => SCOPES.indexOf(a) - SCOPES.indexOf(b)),
        expiresAt: input.expiresAt,
        secretHash: hashApiKey(secret),
        ...displayParts(secret),
        source,
        createdByKeyId,
      },
      transaction,
    );
  }

  private recordUse(keyId: string): void {
    const now = Date.now();
    if (now - (this.lastUsedWrites.get(keyId) ?? 0) < LAST_USED_WRITE_INTERVAL_MS) return;
    this.lastUsedWrites.set(keyId, now);
    this.keys
      .recordUse(keyId, new Date(now))
      .catch((error: unknown) => this.logger.warn({ keyId, error: String(error) }, 'could not record API key use'));
  }
}

/**
 * The admin keys the service makes itself (from ADMIN_API_KEY, or at first start) belong to one
 * principal, `admin`, whatever key currently carries it: rotating ADMIN_API_KEY must not turn the
 * operator into a second pair of eyes on their own payouts.
 */
export const ADMIN_OWNER = 'admin';

function adminKeyInput(name: string): NewApiKey {
  return { name, owner: ADMIN_OWNER, scopes: [...SCOPES], expiresAt: null };
}
