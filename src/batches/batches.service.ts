import { HttpStatus, Injectable, Logger } from '@nestjs/common';
import { createHash, randomUUID } from 'node:crypto';
import { ApiError } from '../common/errors/api-error';
import { ErrorCode } from '../common/errors/error-codes';
import { seal } from '../credentials/crypto/envelope';
import { MasterKeyring } from '../credentials/crypto/master-keyring';
import { SERVICE_ACTOR, AuditTrail } from '../audit/audit-trail';
import { hasOwner, type Principal } from '../common/auth/scopes';
import { Environment } from '../config/environment';
import { type Transaction, UnitOfWork } from '../database/unit-of-work';
import { eventEnvelope, type OutboxEvent } from '../events/domain/event-types';
import { approvalsRequired, governs } from '../payouts/domain/payout-controls';
import { PayoutPolicyBook } from '../payouts/payout-policy-book';
import { isStoredBeneficiaryReference } from '../payouts/domain/beneficiary-directory';
import type { IdempotencyScope } from '../payouts/domain/idempotency';
import { formatAmount } from '../payouts/domain/money';
import { maskBeneficiary } from '../payouts/domain/payout';
import {
  type Batch,
  type BatchDecision,
  type BatchItem,
  type BatchItemStatus,
  batchRowContext,
  type NewBatchItem,
} from './domain/batch';
import { checkRows, type CheckedRows, type RowProblem, sumAmounts } from './domain/batch-rows';
import { BatchesRepository } from './persistence/batches.repository';

/** At most this many row problems are answered (and kept for skipped rows); the counts are always whole. */
const MAX_REPORTED_PROBLEMS = 1_000;
/** From this many rows, an upload refreshes the planner's statistics of the batch rows (see refreshItemStatistics). */
const LARGE_BATCH_ROWS = 1_000;
/** How long a running batch's counts are reused (see recentCounts). */
const RUNNING_COUNTS_REUSE_MS = 1_000;
/** Running batches whose recent counts are held at once, before expired ones are dropped. */
const MAX_COUNTS_HELD = 100;

export interface BatchReport {
  rows: number;
  validRows: number;
  invalidRows: number;
  problems: RowProblem[];
  /** Per currency, the valid rows' total and count. */
  totals: Array<{ currency: string; amount: string; count: number }>;
}

export interface BatchOptions {
  /** Leave invalid rows out (listed in the batch's `skipped`) instead of refusing the whole batch. */
  skipInvalid: boolean;
  source: 'json' | 'csv';
  fileName: string | null;
}

/**
 * Payout batches: every row checked before anything is stored, all rows stored (sealed) in one
 * transaction before any is sent, each row sent as a payout by BatchRunner with an
 * Idempotency-Key of its own, so restarts and re-uploads never pay a row twice.
 */
@Injectable()
export class BatchesService {
  constructor(
    private readonly repository: BatchesRepository,
    private readonly keyring: MasterKeyring,
    private readonly unitOfWork: UnitOfWork,
    private readonly policyBook: PayoutPolicyBook,
    private readonly audit: AuditTrail,
    private readonly environment: Environment,
  ) {}

  private readonly logger = new Logger('Batches');
  /** Recent counts of running batches, by batch id (see recentCounts). */
  private readonly countsRead = new Map<string, { at: number; counts: Promise<Record<string, number>> }>();

  /** The dry run: what a batch of these rows would send, and every problem of every row. Stores nothing. */
  async check(rows: ReadonlyArray<Record<string, unknown>>): Promise<BatchReport> {
    return report(await checkRows(rows), rows.length);
  }

  /**
   * Stores a batch of `rows` under the caller's Idempotency-Key. The same key with the same rows
   * (and options) answers the batch stored first (`replayed`); with other rows, 422
   * IDEMPOTENCY_KEY_REUSED. Invalid rows refuse the whole batch (422 BATCH_ROWS_INVALID, nothing
   * stored) unless `skipInvalid`.
   */
  async create(
    rows: ReadonlyArray<Record<string, unknown>>,
    options: BatchOptions,
    idempotency: IdempotencyScope,
    principal: string,
  ): Promise<{ batch: Batch; replayed: boolean }> {
    const checked = await checkRows(rows);
    // The same rows with and without skipInvalid are different requests.
    const requestHash = createHash('sha256').update(`${checked.hash}:${options.skipInvalid}`).digest('hex');
    const earlier = await this.replay(idempotency, requestHash);
    if (earlier) return { batch: earlier, replayed: true };
    if (checked.invalidRows > 0 && !options.skipInvalid) {
      const { problems, invalidRows } = report(checked, rows.length);
      throw new ApiError(
        HttpStatus.UNPROCESSABLE_ENTITY,
        ErrorCode.BATCH_ROWS_INVALID,
        `${invalidRows} of ${rows.length} rows cannot be sent; nothing was stored. Fix the rows listed in details.problems ` +
          '(or send skipInvalid=true to send the valid rows only), then upload again.',
        { invalidRows, problems },
      );
    }
    if (checked.valid.length === 0) {
      throw new ApiError(
        HttpStatus.UNPROCESSABLE_ENTITY,
        ErrorCode.BATCH_ROWS_INVALID,
        'No row of this batch can be sent; nothing was stored. Fix the rows listed in details.problems, then upload again.',
        { invalidRows: checked.invalidRows, problems: checked.problems.slice(0, MAX_REPORTED_PROBLEMS) },
      );
    }
    const approval = await this.approvalsAskedOf(checked, idempotency.apiKeyId);
    const id = randomUUID();
    const items: NewBatchItem[] = checked.valid.map(({ row, rowKey, payout }) => ({
      row,
      rowKey,
      provider: payout.provider,
      environment: payout.environment,
      amount: payout.amount.amount,
      currency: payout.amount.currency,
      reference: payout.reference ?? null,
      beneficiaryView: isStoredBeneficiaryReference(payout.beneficiary)
        ? { beneficiaryId: payout.beneficiary.beneficiaryId }
        : { ...maskBeneficiary(payout.beneficiary) },
      sealed: seal(this.keyring, batchRowContext(id, row), Buffer.from(JSON.stringify(payout), 'utf8')),
    }));
    const stored = await this.unitOfWork.run((transaction) =>
      this.repository.insert(
        transaction,
        {
          id,
          apiKeyId: idempotency.apiKeyId,
          idempotencyKey: idempotency.key,
          requestHash,
          createdByPrincipal: principal,
          source: options.source,
          fileName: options.fileName,
          // Every invalid row skipped, counted: `skipped` reports the first problems only.
          skippedCount: checked.invalidRows,
          skipped: checked.problems.slice(0, MAX_REPORTED_PROBLEMS),
          approvalsRequired: approval.required,
          approvalReasons: approval.reasons,
          approvalExpiresAt:
            approval.required > 0
              ? new Date(Date.now() + this.environment.PAYOUT_APPROVAL_TTL_HOURS * 3_600_000)
              : null,
        },
        items,
      ),
    );
    if (!stored) {
      // A concurrent upload with the same key committed first: answer its batch.
      const first = await this.replay(idempotency, requestHash);
      if (first) return { batch: first, replayed: true };
    }
    if (items.length >= LARGE_BATCH_ROWS) {
      // After the answer's read, not before it: the statistics only steer later reads.
      this.repository
        .refreshItemStatistics()
        .catch((error: unknown) =>
          this.logger.warn(
            { error: error instanceof Error ? error.message : String(error) },
            'could not analyze batch rows',
          ),
        );
    }
    return { batch: await this.batchOrNotFound(id), replayed: false };
  }

  /** The batch as GET shows it: the counts of a running batch may be up to a second old (see recentCounts). */
  async get(id: string): Promise<{ batch: Batch; counts: Record<string, number>; decisions: BatchDecision[] }> {
    const batch = await this.batchOrNotFound(id);
    return this.view(batch, { recentCounts: batch.status === 'processing' });
  }

  /** The batch with its row counts and (when it needed approval) its decisions. */
  async view(
    batch: Batch,
    { recentCounts }: { recentCounts: boolean } = { recentCounts: false },
  ): Promise<{ batch: Batch; counts: Record<string, number>; decisions: BatchDecision[] }> {
    const [counts, decisions] = await Promise.all([
      recentCounts ? this.recentCounts(batch.id) : this.repository.counts(batch.id),
      batch.approvalsRequired > 0 ? this.repository.decisions(batch.id) : Promise.resolve([]),
    ]);
    return { batch, counts, decisions };
  }

  /**
   * A running batch's counts, read at most once a second per batch (callers in that second share
   * the read): they join every row of the batch to its payout, 90 ms of PostgreSQL for 10,000
   * rows, and a progress bar or a script polling every 250 ms made that a fifth of the database's
   * work while the batch ran. A batch that is no longer running is always counted afresh.
   */
  private recentCounts(batchId: string): Promise<Record<string, number>> {
    const now = Date.now();
    const recent = this.countsRead.get(batchId);
    if (recent && now - recent.at < RUNNING_COUNTS_REUSE_MS) return recent.counts;
    if (this.countsRead.size >= MAX_COUNTS_HELD)
      for (const [id, read] of this.countsRead)
        if (now - read.at >= RUNNING_COUNTS_REUSE_MS) this.countsRead.delete(id);
    const counts = this.repository.counts(batchId);
    const read = { at: now, counts };
    this.countsRead.set(batchId, read);
    // A failed read is not reused.
    counts.catch(() => {
      if (this.countsRead.get(batchId) === read) this.countsRead.delete(batchId);
    });
    return counts;
  }

  async items(
    id: string,
    page: { status?: BatchItemStatus; afterRow?: number; limit: number },
  ): Promise<{ items: BatchItem[]; more: boolean }> {
    await this.batchOrNotFound(id);
    const rows = await this.repository.items(id, page);
    return { items: rows.slice(0, page.limit), more: rows.length > page.limit };
  }

  /** Every row in row order, read a page at a time; 404 before the first row when there is no such batch. */
  async results(id: string): Promise<{ batch: Batch; items: AsyncIterable<BatchItem> }> {
    const batch = await this.batchOrNotFound(id);
    return { batch, items: this.repository.allItems(id) };
  }

  /**
   * Stops the rows not yet sent (they become cancelled and are never sent); rows being sent
   * finish, and sent rows follow their payouts. Idempotent. A finished batch answers 409.
   */
  async cancel(
    id: string,
    by: Principal,
  ): Promise<{ batch: Batch; counts: Record<string, number>; cancelledRows: number }> {
    // The batch is locked first: approvals, a concurrent cancel and the runner's requeue (which
    // reads it FOR SHARE) all decide against the state this sees.
    const outcome = await this.unitOfWork.run(async (transaction) => {
      const batch = await this.repository.lock(transaction, id);
      if (!batch) throw ApiError.notFound('payout batch', id);
      if (batch.status === 'pending_approval') {
        // Nothing of it was sent: it finishes cancelled at once, its held rows with it.
        const cancelled = await this.repository.cancelHeld(transaction, id, batchCompletedEvent);
        await this.recordCancel(transaction, id, by, { previousStatus: batch.status, cancelledRows: batch.itemCount });
        return { finishedAs: null, batch: cancelled, cancelledRows: batch.itemCount };
      }
      if (batch.status !== 'processing') return { finishedAs: batch.status, batch, cancelledRows: 0 };
      // Cancelling again changes nothing and is not audited again.
      if (batch.cancelledAt) return { finishedAs: null, batch, cancelledRows: 0 };
      const cancelledRows = await this.repository.cancelQueued(transaction, id);
      await this.recordCancel(transaction, id, by, { previousStatus: batch.status, cancelledRows });
      return { finishedAs: null, batch: (await this.repository.lock(transaction, id)) ?? batch, cancelledRows };
    });
    if (outcome.finishedAs) {
      throw new ApiError(
        HttpStatus.CONFLICT,
        ErrorCode.BATCH_FINISHED,
        `Batch ${id} is ${outcome.finishedAs}: every row was already sent or stopped, so there is nothing left to cancel.`,
        { status: outcome.finishedAs },
      );
    }
    return { batch: outcome.batch, cancelledRows: outcome.cancelledRows, counts: await this.repository.counts(id) };
  }

  private async recordCancel(
    transaction: Transaction,
    id: string,
    by: Principal,
    detail: { previousStatus: Batch['status']; cancelledRows: number },
  ): Promise<void> {
    await this.audit.record(transaction, {
      action: 'payout_batch.cancelled',
      subjectType: 'payout_batch',
      subjectId: id,
      actor: by,
      detail,
    });
  }

  /**
   * One approval of a batch that waits for approval, by the calling key's owner (never its
   * creator). With enough distinct approvers its rows are released to be sent, and their payouts
   * do not wait again one by one (the limits still apply to each). Approving again as the same
   * owner changes nothing.
   */
  async approve(id: string, by: Principal, comment: string | null): Promise<Batch> {
    const outcome = await this.unitOfWork.run(async (transaction) => {
      const batch = await this.pendingBatch(transaction, id, by, 'approved');
      if (batch.status !== 'pending_approval') return { batch };
      if (isPastDeadline(batch)) return { batch: await this.expire(transaction, batch), expired: true };
      if (!(await this.repository.recordDecision(transaction, id, decisionOf(by, 'approved', comment))))
        return { batch };
      const approvers = (await this.repository.decisions(id, transaction)).filter((d) => d.decision === 'approved');
      const released = approvers.length >= batch.approvalsRequired;
      if (released) await this.repository.release(transaction, id);
      await this.audit.record(transaction, {
        action: 'payout_batch.approved',
        subjectType: 'payout_batch',
        subjectId: id,
        actor: by,
        detail: { comment, approvals: approvers.length, required: batch.approvalsRequired, released },
      });
      return { batch: released ? { ...batch, status: 'processing' as const } : batch };
    });
    if (outcome.expired) throw approvalExpired(id);
    return outcome.batch;
  }

  /** Rejects a batch that waits for approval: it is cancelled, and none of its rows is ever sent. */
  async reject(id: string, by: Principal, comment: string | null): Promise<Batch> {
    const outcome = await this.unitOfWork.run(async (transaction) => {
      const batch = await this.pendingBatch(transaction, id, by, 'rejected');
      if (batch.status !== 'pending_approval') return { batch };
      if (isPastDeadline(batch)) return { batch: await this.expire(transaction, batch), expired: true };
      await this.repository.recordDecision(transaction, id, decisionOf(by, 'rejected', comment));
      const cancelled = await this.repository.cancelHeld(transaction, id, batchCompletedEvent);
      await this.audit.record(transaction, {
        action: 'payout_batch.rejected',
        subjectType: 'payout_batch',
        subjectId: id,
        actor: by,
        detail: { comment },
      });
      return { batch: cancelled };
    });
    if (outcome.expired) throw approvalExpired(id);
    return outcome.batch;
  }

  /** Cancels the batches whose approval deadline passed (the runner's sweep); answers how many. */
  async expireOverdue(): Promise<number> {
    let expired = 0;
    for (const id of await this.repository.expiredPendingApproval(100)) {
      const done = await this.unitOfWork.run(async (transaction) => {
        const batch = await this.repository.lock(transaction, id);
        if (batch?.status !== 'pending_approval') return false;
        await this.expire(transaction, batch);
        return true;
      });
      if (done) expired++;
    }
    return expired;
  }

  /**
   * The batch, locked, as a decision may see it: 404 when missing; 409 unless it waits for
   * approval (or this principal already made this decision, which answers it as it is); 403 for
   * a key without an owner or the batch's creator.
   */
  private async pendingBatch(
    transaction: Transaction,
    id: string,
    by: Principal,
    decision: BatchDecision['decision'],
  ): Promise<Batch> {
    const batch = await this.repository.lock(transaction, id);
    if (!batch) throw ApiError.notFound('payout batch', id);
    if (batch.status !== 'pending_approval') {
      const earlier = await this.repository.decisions(id, transaction);
      if (earlier.some((d) => d.principal === by.principal && d.decision === decision)) return batch;
      throw new ApiError(
        HttpStatus.CONFLICT,
        ErrorCode.BATCH_NOT_PENDING_APPROVAL,
        `Batch ${id} is ${batch.status}: it does not wait for approval (it was approved, rejected, expired, or never needed it).`,
        { status: batch.status },
      );
    }
    if (!hasOwner(by)) {
      throw new ApiError(
        HttpStatus.FORBIDDEN,
        ErrorCode.APPROVER_WITHOUT_OWNER,
        'This API key has no owner, so nobody can tell whose decision it is. Use a key created with an owner (POST /v1/api-keys with "owner").',
        { batchId: id },
      );
    }
    if (batch.createdByPrincipal === by.principal) {
      throw new ApiError(
        HttpStatus.FORBIDDEN,
        ErrorCode.APPROVER_IS_CREATOR,
        'You created this batch, so you cannot decide on it: a second pair of eyes is another key owner with payouts:approve.',
        { batchId: id },
      );
    }
    return batch;
  }

  private async expire(transaction: Transaction, batch: Batch): Promise<Batch> {
    const cancelled = await this.repository.cancelHeld(transaction, batch.id, batchCompletedEvent);
    await this.audit.record(transaction, {
      action: 'payout_batch.approval_expired',
      subjectType: 'payout_batch',
      subjectId: batch.id,
      actor: SERVICE_ACTOR,
      detail: { deadline: batch.approvalExpiresAt?.toISOString() ?? null },
    });
    return cancelled;
  }

  /**
   * Whether the batch waits for approval, and how many approvers: the most any valid row would
   * need under the payout policies as they are now. The first-payout rule counts as asked
   * whenever a governing policy has it (which beneficiaries were paid before is not looked up for
   * 10,000 rows): one approval of the batch answers it for every row.
   */
  private async approvalsAskedOf(
    checked: CheckedRows,
    apiKeyId: string,
  ): Promise<{ required: number; reasons: string[] }> {
    const policies = (await this.policyBook.list()).filter((policy) => policy.approval);
    if (policies.length === 0) return { required: 0, reasons: [] };
    let required = 0;
    const reasons = new Set<string>();
    for (const { payout } of checked.valid) {
      const scope = {
        currency: payout.amount.currency,
        provider: payout.provider,
        environment: payout.environment,
        apiKeyId,
      };
      const asked = approvalsRequired(
        policies.filter((policy) => governs(policy, scope)),
        payout.amount,
        { firstPayoutToBeneficiary: () => true },
      );
      required = Math.max(required, asked.required);
      asked.reasons.forEach((reason) => reasons.add(reason));
    }
    return { required, reasons: [...reasons] };
  }

  private async replay(idempotency: IdempotencyScope, requestHash: string): Promise<Batch | null> {
    const earlier = await this.repository.findByKey(idempotency.apiKeyId, idempotency.key);
    if (!earlier) return null;
    if (earlier.requestHash !== requestHash) {
      throw new ApiError(
        HttpStatus.UNPROCESSABLE_ENTITY,
        ErrorCode.IDEMPOTENCY_KEY_REUSED,
        `This Idempotency-Key was used for batch ${earlier.id} with other rows. Use a new key for a new batch.`,
        { batchId: earlier.id },
      );
    }
    return earlier;
  }

  private async batchOrNotFound(id: string): Promise<Batch> {
    const batch = await this.repository.find(id);
    if (!batch) throw ApiError.notFound('payout batch', id);
    return batch;
  }
}

/** batch.completed: the batch finished (every row final) or was cancelled before any row was sent. */
export function batchCompletedEvent(batch: Batch, counts: Record<string, number>): OutboxEvent {
  return eventEnvelope('batch.completed', {
    batchId: batch.id,
    status: batch.status,
    itemCount: batch.itemCount,
    skippedCount: batch.skippedCount,
    counts,
    createdAt: batch.createdAt.toISOString(),
    completedAt: batch.completedAt?.toISOString() ?? null,
  });
}

function decisionOf(by: Principal, decision: BatchDecision['decision'], comment: string | null) {
  return { principal: by.principal, decision, apiKeyId: by.keyId, comment };
}

function isPastDeadline(batch: Batch): boolean {
  return batch.approvalExpiresAt !== null && batch.approvalExpiresAt.getTime() <= Date.now();
}

function approvalExpired(id: string): ApiError {
  return new ApiError(
    HttpStatus.CONFLICT,
    ErrorCode.APPROVAL_EXPIRED,
    `Batch ${id} waited past its approval deadline and was cancelled; none of its rows was sent. Upload it again if it is still wanted.`,
    { batchId: id },
  );
}

function report(checked: CheckedRows, rows: number): BatchReport {
  const byCurrency = new Map<string, string[]>();
  for (const { payout } of checked.valid) {
    const list = byCurrency.get(payout.amount.currency) ?? [];
    list.push(payout.amount.amount);
    byCurrency.set(payout.amount.currency, list);
  }
  return {
    rows,
    validRows: checked.valid.length,
    invalidRows: checked.invalidRows,
    problems: checked.problems.slice(0, MAX_REPORTED_PROBLEMS),
    totals: [...byCurrency].map(([currency, amounts]) => ({
      currency,
      amount: formatAmount(sumAmounts(amounts), currency),
      count: amounts.length,
    })),
  };
}
