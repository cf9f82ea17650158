import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import type { Transaction } from '../../database/unit-of-work';
import type { PayoutPolicy, PolicyScope } from '../../payouts/domain/payout-controls';
import { formatAmount } from '../../payouts/domain/money';
import { PayoutPolicyEntity } from './payout-policy.entity';

/** A policy as PUT gives it: everything but what the database assigns. */
export type PolicyDraft = Omit<PayoutPolicy, 'id' | 'updatedAt' | 'updatedByKeyId'>;

/** The scope as one comparable text: policies are matched across a PUT by it. */
export function scopeKey(scope: PolicyScope): string {
  return [scope.currency, scope.provider ?? '*', scope.environment ?? '*', scope.apiKeyId ?? '*'].join('/');
}

@Injectable()
export class PayoutPoliciesRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async all(): Promise<PayoutPolicy[]> {
    const rows = await this.dataSource.getRepository(PayoutPolicyEntity).find();
    return rows.map(toPolicy).sort((a, b) => scopeKey(a.scope).localeCompare(scopeKey(b.scope)));
  }

  /**
   * Replaces the whole set. A policy whose scope stays keeps its row (updated in place), so a
   * payout waiting on its lock reads the new limits, not a deleted row. PUTs are serialised by a
   * transaction-scoped advisory lock, which governed payouts hold shared while they read and lock
   * their policies (PayoutsRepository.waitForPolicyLocks): a payout sees the set before a PUT or
   * after it, never half of it. The unique scope index is the backstop. `alongside` runs in the
   * same transaction (the audit row).
   */
  async replaceAll(
    drafts: PolicyDraft[],
    byKeyId: string,
    alongside: (transaction: Transaction, before: PayoutPolicy[], after: PayoutPolicy[]) => Promise<void>,
  ): Promise<{ before: PayoutPolicy[]; after: PayoutPolicy[] }> {
    return this.dataSource.transaction(async (transaction) => {
      await transaction.query(`SELECT pg_advisory_xact_lock(hashtext('payout_policies'))`);
      const repository = transaction.getRepository(PayoutPolicyEntity);
      const existing = await repository.find();
      const byScope = new Map(existing.map((row) => [scopeKey(toPolicy(row).scope), row]));
      const kept = new Set<string>();
      for (const draft of drafts) {
        const key = scopeKey(draft.scope);
        const row = byScope.get(key);
        const columns = toColumns(draft, byKeyId);
        if (row) {
          kept.add(row.id);
          await repository.update({ id: row.id }, columns);
        } else {
          await repository.insert({ id: randomUUID(), ...columns });
        }
      }
      const removed = existing.filter((row) => !kept.has(row.id)).map((row) => row.id);
      if (removed.length > 0) await repository.delete(removed);
      const after = (await repository.find()).map(toPolicy);
      const before = existing.map(toPolicy);
      await alongside(transaction, before, after);
      return { before, after };
    });
  }

  async lockGoverning(transaction: Transaction, payout: PolicyScope): Promise<PayoutPolicy[]> {
    const rows = await transaction
      .getRepository(PayoutPolicyEntity)
      .createQueryBuilder('policy')
      .where('policy.currency = :currency', { currency: payout.currency })
      .andWhere('(policy.provider IS NULL OR policy.provider = :provider)', { provider: payout.provider })
      .andWhere('(policy.environment IS NULL OR policy.environment = :environment)', {
        environment: payout.environment,
      })
      .andWhere('(policy.apiKeyId IS NULL OR policy.apiKeyId = :apiKeyId)', { apiKeyId: payout.apiKeyId })
      // One order for every locker: two payouts locking the same policies cannot deadlock.
      .orderBy('policy.id')
      .setLock('pessimistic_write')
      .getMany();
    return rows.map(toPolicy);
  }
}

function toColumns(draft: PolicyDraft, byKeyId: string): Omit<PayoutPolicyEntity, 'id' | 'updatedAt'> {
  return {
    currency: draft.scope.currency,
    provider: draft.scope.provider,
    environment: draft.scope.environment,
    apiKeyId: draft.scope.apiKeyId,
    maxAmountPerPayout: draft.maxAmountPerPayout,
    rolling24hMaxAmount: draft.rolling24h.maxAmount,
    rolling24hMaxCount: draft.rolling24h.maxCount,
    approvalAtOrAbove: draft.approval?.atOrAbove ?? null,
    approvalFirstPayoutToBeneficiary: draft.approval?.firstPayoutToBeneficiary ?? false,
    approvalEveryPayout: draft.approval?.everyPayout ?? false,
    // Kept at 1 without an approval rule (the column's meaning is "approvals when a rule triggers").
    requiredApprovals: draft.approval?.requiredApprovals ?? 1,
    updatedByKeyId: byKeyId,
  };
}

function toPolicy(row: PayoutPolicyEntity): PayoutPolicy {
  const amount = (value: string | null) => (value === null ? null : formatAmount(value, row.currency));
  const hasApprovalRule =
    row.approvalAtOrAbove !== null || row.approvalFirstPayoutToBeneficiary || row.approvalEveryPayout;
  return {
    id: row.id,
    scope: { currency: row.currency, provider: row.provider, environment: row.environment, apiKeyId: row.apiKeyId },
    maxAmountPerPayout: amount(row.maxAmountPerPayout),
    rolling24h: { maxAmount: amount(row.rolling24hMaxAmount), maxCount: row.rolling24hMaxCount },
    approval: hasApprovalRule
      ? {
          atOrAbove: amount(row.approvalAtOrAbove),
          firstPayoutToBeneficiary: row.approvalFirstPayoutToBeneficiary,
          everyPayout: row.approvalEveryPayout,
          requiredApprovals: row.requiredApprovals,
        }
      : null,
    updatedAt: row.updatedAt,
    updatedByKeyId: row.updatedByKeyId,
  };
}
