import { HttpStatus, Injectable, Logger } from '@nestjs/common';
import type { Principal } from '../common/auth/scopes';
import { ApiError } from '../common/errors/api-error';
import { ErrorCode } from '../common/errors/error-codes';
import { Transaction, UnitOfWork } from '../database/unit-of-work';
import type { Payout } from './domain/payout';
import { PayoutApprovalsRepository } from './persistence/payout-approvals.repository';
import { PayoutsRepository } from './persistence/payouts.repository';
import { type NeverSentReason, PayoutsService } from './payouts.service';

/** How many expired payouts one sweep cancels per transaction (the sweep repeats while it finds a full batch). */
const EXPIRY_BATCH = 100;

/**
 * Maker-checker. A payout a policy's approval rule caught waits in pending_approval, never sent,
 * until enough distinct principals (key owners other than its creator) approve it; then it is
 * committed as requested with a lease, and sent. If this process dies between that commit and
 * the provider call, the reconciler sends it when the lease ends: the approval is durable before
 * anything leaves. A rejection, the creator's cancel, or the deadline passing cancels it instead.
 * Every decision is a row in payout_approvals and in the payout's history, with who and when.
 */
@Injectable()
export class PayoutApprovals {
  private readonly logger = new Logger('PayoutApprovals');

  constructor(
    private readonly unitOfWork: UnitOfWork,
    private readonly rows: PayoutsRepository,
    private readonly approvals: PayoutApprovalsRepository,
    private readonly payouts: PayoutsService,
  ) {}

  /**
   * One approval. Answers the payout as it stands: still pending_approval while more approvals
   * are needed, else after it was sent (pending, completed, failed …). The same principal
   * approving again changes nothing and gets the same kind of answer.
   */
  async approve(id: string, by: Principal, comment: string | null): Promise<Payout> {
    const decided = await this.unitOfWork.run(async (transaction) => {
      const payout = await this.lockPayout(transaction, id);
      if (payout.status !== 'pending_approval') {
        if ((await this.approvals.decisionOf(transaction, id, by.principal)) === 'approved') {
          return { payout, send: false, expired: false };
        }
        throw notPending(payout);
      }
      if (payout.approvalExpiresAt && payout.approvalExpiresAt.getTime() <= Date.now()) {
        return {
          payout: await this.cancel(transaction, payout, 'expired', { source: 'approval' }),
          send: false,
          expired: true,
        };
      }
      const creator = await this.approvals.creatorPrincipal(transaction, payout.createdByKeyId);
      if (creator === by.principal) {
        throw new ApiError(
          HttpStatus.FORBIDDEN,
          ErrorCode.APPROVER_IS_CREATOR,
          'You created this payout, so you cannot approve it: a second pair of eyes is another key owner with payouts:approve.',
          { payoutId: id },
        );
      }
      const recorded = await this.approvals.record(transaction, {
        payoutId: id,
        decision: 'approved',
        principal: by.principal,
        apiKeyId: by.keyId,
        comment,
      });
      if (!recorded) return { payout, send: false, expired: false };
      const approvers = await this.approvals.approvers(transaction, id);
      await this.rows.appendHistory(transaction, id, 'approval', payout.status, payout.status, {
        principal: by.principal,
        keyId: by.keyId,
        comment,
        approvals: approvers.length,
        required: payout.approvalsRequired,
      });
      if (approvers.length < payout.approvalsRequired) return { payout, send: false, expired: false };
      const approved: Payout = { ...payout, status: 'requested', updatedAt: new Date() };
      // The lease: the reconciler leaves it to this request, and sends it itself if this process dies first.
      await this.rows.updateState(transaction, id, {
        status: 'requested',
        failureCode: null,
        failureReason: null,
        nextCheckAt: new Date(Date.now() + this.payouts.leaseMs()),
      });
      await this.rows.appendHistory(transaction, id, 'transition', 'pending_approval', 'requested', {
        source: 'approval',
        approvers,
      });
      await this.payouts.announce(transaction, approved, 'pending_approval');
      return { payout: approved, send: true, expired: false };
    });
    if (decided.expired) throw expired(decided.payout);
    if (!decided.send) return decided.payout;
    this.logger.log({ payoutId: id, by: by.keyId }, 'payout approved; sending it');
    return this.payouts.submit(decided.payout);
  }

  /** Cancels a pending payout as rejected. Rejecting again (the same principal) answers it as it is. */
  async reject(id: string, by: Principal, comment: string | null): Promise<Payout> {
    const decided = await this.unitOfWork.run(async (transaction) => {
      const payout = await this.lockPayout(transaction, id);
      if (payout.status !== 'pending_approval') {
        if ((await this.approvals.decisionOf(transaction, id, by.principal)) === 'rejected') return payout;
        throw notPending(payout);
      }
      await this.approvals.record(transaction, {
        payoutId: id,
        decision: 'rejected',
        principal: by.principal,
        apiKeyId: by.keyId,
        comment,
      });
      return this.cancel(transaction, payout, 'rejected', {
        source: 'approval',
        principal: by.principal,
        keyId: by.keyId,
        comment,
      });
    });
    return decided;
  }

  /** Cancels the payouts whose approval deadline passed; returns how many. Run by the reconciler. */
  async expireDue(): Promise<number> {
    let total = 0;
    for (;;) {
      const cancelled = await this.unitOfWork.run(async (transaction) => {
        const ids = await this.approvals.lockExpired(transaction, EXPIRY_BATCH);
        for (const id of ids) {
          const locked = await this.rows.lockById(transaction, id);
          if (locked) await this.cancel(transaction, locked.payout, 'expired', { source: 'approval_expiry' });
        }
        return ids.length;
      });
      total += cancelled;
      if (cancelled < EXPIRY_BATCH) return total;
    }
  }

  private async lockPayout(transaction: Transaction, id: string): Promise<Payout> {
    const locked = await this.rows.lockById(transaction, id);
    if (!locked) throw ApiError.notFound('payout', id);
    return locked.payout;
  }

  private cancel(
    transaction: Transaction,
    payout: Payout,
    why: NeverSentReason,
    detail: Record<string, unknown>,
  ): Promise<Payout> {
    return this.payouts.cancelNeverSent(transaction, payout, why, detail);
  }
}

function notPending(payout: Payout): ApiError {
  return new ApiError(
    HttpStatus.CONFLICT,
    ErrorCode.PAYOUT_NOT_PENDING_APPROVAL,
    `The payout is ${payout.status}, not waiting for approval; there is nothing to approve or reject.`,
    { status: payout.status },
  );
}

function expired(payout: Payout): ApiError {
  return new ApiError(
    HttpStatus.CONFLICT,
    ErrorCode.APPROVAL_EXPIRED,
    'The payout waited past its approval deadline and was cancelled, never sent. Create it again if it is still wanted.',
    { payoutId: payout.id, status: payout.status },
  );
}
