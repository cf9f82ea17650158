import { HttpStatus, Injectable } from '@nestjs/common';
import { createHash, randomUUID } from 'node:crypto';
import { ApiError } from '../common/errors/api-error';
import { ErrorCode } from '../common/errors/error-codes';
import { seal } from '../credentials/crypto/envelope';
import { MasterKeyring } from '../credentials/crypto/master-keyring';
import { UnitOfWork } from '../database/unit-of-work';
import { isStoredBeneficiaryReference } from '../payouts/domain/beneficiary-directory';
import type { IdempotencyScope } from '../payouts/domain/idempotency';
import { formatAmount } from '../payouts/domain/money';
import { maskBeneficiary } from '../payouts/domain/payout';
import { type Batch, type BatchItem, type BatchItemStatus, batchRowContext, type NewBatchItem } from './domain/batch';
import { checkRows, type CheckedRows, type RowProblem, sumAmounts } from './domain/batch-rows';
import { BatchesRepository } from './persistence/batches.repository';

/** At most this many row problems are answered (and kept for skipped rows); the counts are always whole. */
const MAX_REPORTED_PROBLEMS = 1_000;

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
  ) {}

  /** The dry run: what a batch of these rows would send, and every problem of every row. Stores nothing. */
  check(rows: ReadonlyArray<Record<string, unknown>>): BatchReport {
    return report(checkRows(rows), rows.length);
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
    const checked = checkRows(rows);
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
          skipped: checked.problems.slice(0, MAX_REPORTED_PROBLEMS),
        },
        items,
      ),
    );
    if (!stored) {
      // A concurrent upload with the same key committed first: answer its batch.
      const first = await this.replay(idempotency, requestHash);
      if (first) return { batch: first, replayed: true };
    }
    return { batch: await this.batchOrNotFound(id), replayed: false };
  }

  async get(id: string): Promise<{ batch: Batch; counts: Record<string, number> }> {
    const batch = await this.batchOrNotFound(id);
    return { batch, counts: await this.repository.counts(id) };
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
  async cancel(id: string): Promise<{ batch: Batch; counts: Record<string, number>; cancelledRows: number }> {
    const current = await this.batchOrNotFound(id);
    if (current.status !== 'processing') {
      throw new ApiError(
        HttpStatus.CONFLICT,
        ErrorCode.BATCH_FINISHED,
        `Batch ${id} is ${current.status}: every row was already sent or stopped, so there is nothing left to cancel.`,
        { status: current.status },
      );
    }
    const cancelled = await this.repository.cancel(id);
    if (!cancelled) throw ApiError.notFound('payout batch', id);
    return { ...cancelled, counts: await this.repository.counts(id) };
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
