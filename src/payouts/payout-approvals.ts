import { HttpStatus, Injectable, Logger } from '@nestjs/common';
import { type AuditEntry, AuditTrail, SERVICE_ACTOR } from '../audit/audit-trail';
import { hasOwner, type Principal } from '../common/auth/scopes';
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
 * until enough distinct principals (key owners other than its creator) approve it; then its
 * limits are checked again, it is committed as requested with a lease, and sent. If this process
 * dies between that commit and the provider call, the reconciler sends it when the lease ends:
 * the approval is durable before anything leaves. A rejection, a cancel, or the deadline passing
 * cancels it instead. Every decision is a row in payout_approvals, in the payout's history and in
 * the audit trail, with who and when, in the transaction of the decision.
 */
@Injectable()
export class PayoutApprovals {
  private readonly logger = new Logger('PayoutApprovals');

  constructor(
    private readonly unitOfWork: UnitOfWork,
    private readonly rows: PayoutsRepository,
    private readonly approvals: PayoutApprovalsRepository,
    private readonly payouts: PayoutsService,
    private readonly audit: AuditTrail,
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
        if (await this.approvals.decided(transaction, id, by.principal, 'approved')) return { payout, send: false };
        throw notPending(payout);
      }
      if (isPastDeadline(payout)) {
        return { payout: await this.cancel(transaction, payout, 'expired', { source: 'approval' }), expired: true };
      }
      if (!hasOwner(by)) {
        throw new ApiError(
          HttpStatus.FORBIDDEN,
          ErrorCode.APPROVER_WITHOUT_OWNER,
          'This API key has no owner, so nobody can tell whose approval it is. Approve with a key created with an owner (POST /v1/api-keys with "owner").',
          { payoutId: id },
        );
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
      if (!recorded) return { payout, send: false };
      const approvers = await this.approvals.approvers(transaction, id);
      await this.rows.appendHistory(transaction, id, 'approval', payout.status, payout.status, {
        principal: by.principal,
        keyId: by.keyId,
        comment,
        approvals: approvers.length,
        required: payout.approvalsRequired,
      });
      if (approvers.length < payout.approvalsRequired) {
        await this.audit.record(
          transaction,
          decisionAudit('payout.approved', payout, by, { comment, approvals: approvers.length }),
        );
        return { payout, send: false };
      }
      // It leaves now, maybe days after it was asked for: the limits are checked again as for a
      // new payout (under the policies' locks), and it counts against them from now on. A breach
      // is the 422 of a create and rolls this approval back: the payout keeps waiting.
      const policies = await this.payouts.lockPolicies(transaction, {
        currency: payout.amount.currency,
        provider: payout.provider,
        environment: payout.environment,
        apiKeyId: payout.createdByKeyId,
      });
      await this.payouts.enforceLimits(transaction, policies, payout.amount, payout.id);
      await this.rows.startCounting(transaction, id);
      const approved: Payout = { ...payout, status: 'requested', updatedAt: new Date() };
      // The lease: the reconciler leaves it to this request, and sends it itself if this process dies first.
      await this.rows.updateState(transaction, id, {
        status: 'requested',
        failureCode: null,
        failureReason: null,
        nextCheckAt: new Date(Date.now() + this.payouts.leaseMs()),
        updatedAt: approved.updatedAt,
      });
      await this.rows.appendHistory(transaction, id, 'transition', 'pending_approval', 'requested', {
        source: 'approval',
        approvers,
      });
      await this.payouts.announce(transaction, approved, 'pending_approval');
      await this.audit.record(
        transaction,
        decisionAudit('payout.approved', payout, by, { comment, approvals: approvers.length, sent: true }),
      );
      return { payout: approved, send: true };
    });
    if (decided.expired) throw expired(decided.payout);
    if (!decided.send) return decided.payout;
    this.logger.log({ payoutId: id, by: by.keyId }, 'payout approved; sending it');
    return this.payouts.submit(decided.payout);
  }

  /**
   * Cancels a pending payout as rejected; an approver may reject what they approved while it
   * waits. Rejecting again (the same principal) answers it as it is. Past its deadline it is
   * cancelled as expired instead (409 APPROVAL_EXPIRED, as for an approval).
   */
  async reject(id: string, by: Principal, comment: string | null): Promise<Payout> {
    const decided = await this.unitOfWork.run(async (transaction) => {
      const payout = await this.lockPayout(transaction, id);
      if (payout.status !== 'pending_approval') {
        if (await this.approvals.decided(transaction, id, by.principal, 'rejected')) return { payout };
        throw notPending(payout);
      }
      if (isPastDeadline(payout)) {
        return { payout: await this.cancel(transaction, payout, 'expired', { source: 'approval' }), expired: true };
      }
      await this.approvals.record(transaction, {
        payoutId: id,
        decision: 'rejected',
        principal: by.principal,
        apiKeyId: by.keyId,
        comment,
      });
      const cancelled = await this.cancel(transaction, payout, 'rejected', {
        source: 'approval',
        principal: by.principal,
        keyId: by.keyId,
        comment,
      });
      await this.audit.record(transaction, decisionAudit('payout.rejected', payout, by, { comment }));
      return { payout: cancelled };
    });
    if (decided.expired) throw expired(decided.payout);
    return decided.payout;
  }

  /** Cancels the payouts whose approval deadline passed; returns how many. Run by the reconciler. */
  async expireDue(): Promise<number> {
    let total = 0;
    for (;;) {
      const cancelled = await this.unitOfWork.run(async (transaction) => {
        const ids = await this.approvals.lockExpired(transaction, EXPIRY_BATCH);
        for (const id of ids) {
          const locked = await this.rows.lockById(transaction, id);
          if (!locked) continue;
          await this.cancel(transaction, locked.payout, 'expired', { source: 'approval_expiry' });
          await this.audit.record(transaction, {
            action: 'payout.approval_expired',
            subjectType: 'payout',
            subjectId: id,
            actor: SERVICE_ACTOR,
            detail: { amount: locked.payout.amount, deadline: locked.payout.approvalExpiresAt },
          });
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

function isPastDeadline(payout: Payout): boolean {
  return payout.approvalExpiresAt !== null && payout.approvalExpiresAt.getTime() <= Date.now();
}

/** Keys made before owners existed act as `key:<id>` (see principalOfKey): nobody in particular. */
function decisionAudit(action: string, payout: Payout, by: Principal, detail: Record<string, unknown>): AuditEntry {
  return {
    action,
    subjectType: 'payout',
    subjectId: payout.id,
    actor: { keyId: by.keyId, principal: by.principal },
    detail: { amount: payout.amount, required: payout.approvalsRequired, ...detail },
  };
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
