import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { Transaction } from '../database/unit-of-work';
import { AuditEventEntity } from './audit-event.entity';

/** Who acted: an API key and its principal, or the service itself (both null). */
export interface AuditActor {
  keyId: string | null;
  principal: string | null;
}

export const SERVICE_ACTOR: AuditActor = { keyId: null, principal: null };

export interface AuditEntry {
  /** `<subject>.<verb>`, e.g. `payout.approved`, `api_key.revoked`, `credential.rotated`. */
  action: string;
  subjectType: 'api_key' | 'credential' | 'payout_policies' | 'beneficiary' | 'payout' | 'payout_batch';
  subjectId: string | null;
  actor: AuditActor;
  detail?: Record<string, unknown>;
}

export interface AuditRecord extends Omit<AuditEntry, 'subjectType'> {
  id: string;
  subjectType: string;
  occurredAt: Date;
  detail: Record<string, unknown>;
}

export interface AuditFilter {
  action?: string;
  subjectType?: string;
  subjectId?: string;
  actor?: string;
  occurredFrom?: Date;
  occurredTo?: Date;
  /** Strictly older than this id (the previous page's last). */
  beforeId?: string;
  limit: number;
}

/**
 * The one INSERT of an audit row, for code that writes it from inside its own repository
 * transaction without the AuditTrail service (the credential vault's history, scripts).
 */
export async function insertAuditEvent(runner: Pick<Transaction, 'query'>, entry: AuditEntry): Promise<void> {
  await runner.query(
    `INSERT INTO audit_events (actor_key_id, actor_principal, action, subject_type, subject_id, detail)
     VALUES ($1::uuid, $2::varchar, $3::varchar, $4::varchar, $5::varchar, $6::jsonb)`,
    [
      entry.actor.keyId,
      entry.actor.principal,
      entry.action,
      entry.subjectType,
      entry.subjectId,
      JSON.stringify(entry.detail ?? {}),
    ],
  );
}

/**
 * Records operator actions and reads them back. record() takes the action's transaction, so the
 * action and its audit row commit together (or neither does); without one it writes on its own,
 * for actions whose effect is outside our database (a provider call), after that effect.
 */
@Injectable()
export class AuditTrail {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  record(transaction: Transaction | undefined, entry: AuditEntry): Promise<void> {
    return insertAuditEvent(transaction ?? this.dataSource.manager, entry);
  }

  /** Newest first. One more row than asked is read, to know whether there is a next page. */
  async page(filter: AuditFilter): Promise<AuditRecord[]> {
    const query = this.dataSource.getRepository(AuditEventEntity).createQueryBuilder('a');
    if (filter.action) query.andWhere('a.action = :action', { action: filter.action });
    if (filter.subjectType) query.andWhere('a.subjectType = :subjectType', { subjectType: filter.subjectType });
    if (filter.subjectId) query.andWhere('a.subjectId = :subjectId', { subjectId: filter.subjectId });
    if (filter.actor) query.andWhere('a.actorPrincipal = :actor', { actor: filter.actor });
    if (filter.occurredFrom) query.andWhere('a.occurredAt >= :from', { from: filter.occurredFrom });
    if (filter.occurredTo) query.andWhere('a.occurredAt < :to', { to: filter.occurredTo });
    // By id: a row committed late with a smaller id lands on a later page, never in a gap.
    if (filter.beforeId) query.andWhere('a.id < :beforeId', { beforeId: filter.beforeId });
    const rows = await query
      .orderBy('a.id', 'DESC')
      .take(filter.limit + 1)
      .getMany();
    return rows.map((row) => ({
      id: row.id,
      occurredAt: row.occurredAt,
      action: row.action,
      subjectType: row.subjectType,
      subjectId: row.subjectId,
      actor: { keyId: row.actorKeyId, principal: row.actorPrincipal },
      detail: row.detail,
    }));
  }
}
