import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, IsNull } from 'typeorm';
import type { Transaction } from '../../database/unit-of-work';
import {
  IDEMPOTENCY_KEY_RETENTION_HOURS,
  type IdempotencyClaim,
  type IdempotencyScope,
  type StoredAnswer,
} from '../domain/idempotency';
import { IdempotencyKeyEntity } from './payout.entity';
import { runPrepared } from '../../database/prepared-statements';

/** How long a claim is kept before it may be purged, as a PostgreSQL interval (the promise in the API and README). */
export const IDEMPOTENCY_TTL = `${IDEMPOTENCY_KEY_RETENTION_HOURS} hours`;

export interface NewClaim {
  requestHash: string;
  payoutId: string;
  ownerInstance: number | null;
  leaseMs: number;
}

/** The idempotency_keys table: one claim per (API key, Idempotency-Key), then its stored answer. */
@Injectable()
export class IdempotencyKeysRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** The claim of a key; in `transaction` when given (a caller holding locks must not wait for a second connection). */
  async find(scope: IdempotencyScope, transaction?: Transaction): Promise<IdempotencyClaim | null> {
    const row = await (transaction ?? this.dataSource.manager)
      .getRepository(IdempotencyKeyEntity)
      .findOneBy({ apiKeyId: scope.apiKeyId, idempotencyKey: scope.key });
    return row ? toClaim(row) : null;
  }

  /** SELECT … FOR UPDATE of the claim, for a takeover. */
  async lock(transaction: Transaction, scope: IdempotencyScope): Promise<IdempotencyClaim | null> {
    const row = await transaction
      .getRepository(IdempotencyKeyEntity)
      .findOne({ where: { apiKeyId: scope.apiKeyId, idempotencyKey: scope.key }, lock: { mode: 'pessimistic_write' } });
    return row ? toClaim(row) : null;
  }

  async assignOwner(
    transaction: Transaction,
    scope: IdempotencyScope,
    ownerInstance: number | null,
    leaseUntil: Date,
  ): Promise<void> {
    await transaction
      .getRepository(IdempotencyKeyEntity)
      .update({ apiKeyId: scope.apiKeyId, idempotencyKey: scope.key }, { ownerInstance, leaseUntil });
  }

  async storeAnswer(transaction: Transaction, scope: IdempotencyScope, answer: StoredAnswer): Promise<void> {
    await runPrepared(transaction, storeAnswerSql(['$1', '$2', '$3', '$4']), storeAnswerParameters(scope, answer));
  }

  /** Ends the lease of an unanswered claim at once, so a retry takes it over without waiting. */
  async releaseUnanswered(scope: IdempotencyScope): Promise<void> {
    await this.dataSource
      .getRepository(IdempotencyKeyEntity)
      .update(
        { apiKeyId: scope.apiKeyId, idempotencyKey: scope.key, responseStatus: IsNull() },
        { leaseUntil: new Date(0) },
      );
  }

  async purgeExpired(): Promise<void> {
    await this.dataSource.query('DELETE FROM idempotency_keys WHERE expires_at < now()');
  }
}

function toClaim(row: IdempotencyKeyEntity): IdempotencyClaim {
  return {
    apiKeyId: row.apiKeyId,
    key: row.idempotencyKey,
    requestHash: row.requestHash,
    payoutId: row.payoutId,
    answer: row.responseStatus !== null ? { status: row.responseStatus, body: row.responseBody } : null,
    ownerInstance: row.ownerInstance,
    leaseUntil: row.leaseUntil,
    createdAt: row.createdAt,
  };
}

/**
 * Stores the answer of a claimed Idempotency-Key. `placeholders` are the statement's for
 * storeAnswerParameters(); with `whenRowsIn` (a CTE of the same statement) only if that CTE yields
 * a row, so the answer commits in the statement that commits the payout's outcome.
 */
export function storeAnswerSql(placeholders: readonly string[], whenRowsIn?: string): string {
  const [apiKeyId, key, status, body] = placeholders;
  return `UPDATE idempotency_keys SET response_status = ${status}::int, response_body = ${body}::jsonb
        WHERE api_key_id = ${apiKeyId}::uuid AND idempotency_key = ${key}::varchar${whenRowsIn ? ` AND EXISTS (SELECT 1 FROM ${whenRowsIn})` : ''}`;
}

export function storeAnswerParameters(scope: IdempotencyScope, answer: StoredAnswer): unknown[] {
  return [scope.apiKeyId, scope.key, answer.status, JSON.stringify(answer.body)];
}
