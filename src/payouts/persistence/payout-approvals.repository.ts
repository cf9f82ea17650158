import { Injectable } from '@nestjs/common';
import { principalOfKey } from '../../common/auth/scopes';
import type { Transaction } from '../../database/unit-of-work';

export type ApprovalDecision = 'approved' | 'rejected';

/** payout_approvals (append-only decisions) and the reads maker-checker needs around them. */
@Injectable()
export class PayoutApprovalsRepository {
  /** Records a decision; false when this principal already made it on this payout (one vote each). */
  async record(
    transaction: Transaction,
    decision: {
      payoutId: string;
      decision: ApprovalDecision;
      principal: string;
      apiKeyId: string;
      comment: string | null;
    },
  ): Promise<boolean> {
    const rows: unknown[] = await transaction.query(
      `INSERT INTO payout_approvals (payout_id, decision, principal, api_key_id, comment)
       VALUES ($1::uuid, $2::varchar, $3::varchar, $4::uuid, $5::varchar)
       ON CONFLICT (payout_id, principal, decision) DO NOTHING RETURNING id`,
      [decision.payoutId, decision.decision, decision.principal, decision.apiKeyId, decision.comment],
    );
    return rows.length > 0;
  }

  async decided(
    transaction: Transaction,
    payoutId: string,
    principal: string,
    decision: ApprovalDecision,
  ): Promise<boolean> {
    const rows: unknown[] = await transaction.query(
      `SELECT 1 FROM payout_approvals WHERE payout_id = $1::uuid AND principal = $2::varchar AND decision = $3::varchar`,
      [payoutId, principal, decision],
    );
    return rows.length > 0;
  }

  /** The principals that approved the payout, oldest first. */
  async approvers(transaction: Transaction, payoutId: string): Promise<string[]> {
    const rows: Array<{ principal: string }> = await transaction.query(
      `SELECT principal FROM payout_approvals WHERE payout_id = $1::uuid AND decision = 'approved' ORDER BY id`,
      [payoutId],
    );
    return rows.map((row) => row.principal);
  }

  /**
   * The principal that created the payout: its key's owner, or `key:<id>` (see principalOfKey).
   * Read from api_keys, whose owner never changes, so it is the principal that asked.
   */
  async creatorPrincipal(transaction: Transaction, createdByKeyId: string | null): Promise<string | null> {
    if (!createdByKeyId) return null;
    const [row]: Array<{ owner: string | null }> = await transaction.query(
      `SELECT owner FROM api_keys WHERE id = $1::uuid`,
      [createdByKeyId],
    );
    return principalOfKey({ id: createdByKeyId, owner: row?.owner ?? null });
  }

  /** Up to `limit` payouts whose approval deadline passed, locked (skipping those another replica holds). */
  async lockExpired(transaction: Transaction, limit: number): Promise<string[]> {
    const rows: Array<{ id: string }> = await transaction.query(
      `SELECT id FROM payouts WHERE status = 'pending_approval' AND approval_expires_at <= now()
         ORDER BY approval_expires_at LIMIT $1 FOR UPDATE SKIP LOCKED`,
      [limit],
    );
    return rows.map((row) => row.id);
  }
}
