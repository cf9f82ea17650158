import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { Transaction } from '../../database/unit-of-work';
import type { SealedSecret } from '../../credentials/crypto/envelope';
import { writeToOutbox } from '../../events/persistence/outbound-events.repository';
import type { OutboxEvent } from '../../events/domain/event-types';
import type {
  Batch,
  BatchDecision,
  BatchItem,
  BatchItemStatus,
  ClaimedItem,
  NewBatch,
  NewBatchItem,
} from '../domain/batch';
import { formatAmount } from '../../payouts/domain/money';
import { PayoutBatchApprovalEntity, PayoutBatchEntity } from './batch.entity';
import { runPrepared } from '../../database/prepared-statements';
import type { FirstCommitLink } from '../../payouts/persistence/payouts.repository';

/** attempts is a smallint: a row retried for months stops counting there rather than failing its claim. */
const MAX_ATTEMPTS = 32_767;

/** Identifies one claim of a row: its attempt number fences updates from a stale attempt. */
export type RowClaim = Pick<ClaimedItem, 'batchId' | 'row' | 'attempts'>;

/** Rows per INSERT when storing a batch's items (each row has 14 parameters; PostgreSQL allows 65,535). */
const INSERT_CHUNK = 1_000;

interface ItemRow {
  batch_id: string;
  row: number;
  row_key: string;
  status: string;
  provider: string;
  environment: string;
  amount: string;
  currency: string;
  reference: string | null;
  beneficiary_view: Record<string, unknown>;
  payout_id: string | null;
  failure_code: string | null;
  failure_reason: string | null;
  error_code: string | null;
  error_message: string | null;
  attempts: number;
  updated_at: Date;
}

/** The status a row shows: its payout's once it has one, else its own (queued, sending, refused, cancelled). */
const ITEM_COLUMNS = `i.batch_id, i.row, i.row_key, COALESCE(p.status, i.status) AS status, i.provider, i.environment,
  i.amount::text AS amount, i.currency, i.reference, i.beneficiary_view, i.payout_id, p.failure_code, p.failure_reason, i.error_code, i.error_message, i.attempts, i.updated_at`;

/** payout_batches and payout_batch_items. */
@Injectable()
export class BatchesRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Batch rows (any status) whose sealed row is wrapped under another master key than `currentKeyId`, in key order after `after`. */
  async rowsSealedUnderOtherKey(
    currentKeyId: string,
    after: { batchId: string; row: number },
    limit: number,
  ): Promise<Array<{ batchId: string; row: number; sealed: SealedSecret }>> {
    const rows: Array<{
      batch_id: string;
      row: number;
      master_key_id: string;
      wrapped_data_key: Buffer;
      ciphertext: Buffer;
    }> = await this.dataSource.query(
      `SELECT batch_id, row, master_key_id, wrapped_data_key, ciphertext FROM payout_batch_items
        WHERE (batch_id, row) > ($1::uuid, $2::int) AND master_key_id <> $3
        ORDER BY batch_id, row LIMIT $4`,
      [after.batchId, after.row, currentKeyId, limit],
    );
    return rows.map((row) => ({
      batchId: row.batch_id,
      row: row.row,
      sealed: { masterKeyId: row.master_key_id, wrappedDataKey: row.wrapped_data_key, ciphertext: row.ciphertext },
    }));
  }

  /** Stores a batch row's re-wrapped data key while the row still holds the one it was made from; true when written. */
  async storeRewrappedRow(
    batchId: string,
    row: number,
    rewrapped: { from: SealedSecret; to: SealedSecret },
  ): Promise<boolean> {
    // In a CTE: TypeORM answers a bare UPDATE with [rows, count], a SELECT with its rows.
    const written: unknown[] = await this.dataSource.query(
      `WITH moved AS (UPDATE payout_batch_items SET master_key_id = $3, wrapped_data_key = $4
          WHERE batch_id = $1::uuid AND row = $2::int AND wrapped_data_key = $5 RETURNING row)
       SELECT row FROM moved`,
      [batchId, row, rewrapped.to.masterKeyId, rewrapped.to.wrappedDataKey, rewrapped.from.wrappedDataKey],
    );
    return written.length > 0;
  }

  async findByKey(apiKeyId: string, idempotencyKey: string, transaction?: Transaction): Promise<Batch | null> {
    const row = await (transaction ?? this.dataSource.manager)
      .getRepository(PayoutBatchEntity)
      .findOneBy({ apiKeyId, idempotencyKey });
    return row ? toBatch(row) : null;
  }

  async find(id: string): Promise<Batch | null> {
    const row = await this.dataSource.getRepository(PayoutBatchEntity).findOneBy({ id });
    return row ? toBatch(row) : null;
  }

  /**
   * The batch and all its rows in the caller's transaction; false (nothing written) when a batch
   * with its key exists already (a concurrent upload of the same batch got there first).
   */
  async insert(transaction: Transaction, batch: NewBatch, items: readonly NewBatchItem[]): Promise<boolean> {
    const inserted: unknown[] = await transaction.query(
      `INSERT INTO payout_batches (id, status, api_key_id, idempotency_key, request_hash, created_by_principal, source,
         file_name, item_count, skipped_count, skipped, approvals_required, approval_reasons, approval_expires_at)
       VALUES ($1, CASE WHEN $11::int > 0 THEN 'pending_approval' ELSE 'processing' END, $2, $3, $4, $5, $6, $7, $8, $9,
         $10::jsonb, $11, $12::jsonb, $13)
       ON CONFLICT ON CONSTRAINT uq_payout_batches_idempotency DO NOTHING RETURNING id`,
      [
        batch.id,
        batch.apiKeyId,
        batch.idempotencyKey,
        batch.requestHash,
        batch.createdByPrincipal,
        batch.source,
        batch.fileName,
        items.length,
        batch.skippedCount,
        JSON.stringify(batch.skipped),
        batch.approvalsRequired,
        JSON.stringify(batch.approvalReasons),
        batch.approvalExpiresAt,
      ],
    );
    if (inserted.length === 0) return false;
    // Rows of a batch waiting for approval are held: the claim never sees them until it is approved.
    const rowStatus = batch.approvalsRequired > 0 ? 'held' : 'queued';
    for (let start = 0; start < items.length; start += INSERT_CHUNK) {
      const chunk = items.slice(start, start + INSERT_CHUNK);
      const column = <T>(pick: (item: NewBatchItem) => T) => chunk.map(pick);
      await transaction.query(
        `INSERT INTO payout_batch_items (batch_id, row, row_key, status, provider, environment, amount, currency,
           reference, beneficiary_view, master_key_id, wrapped_data_key, ciphertext, due_at)
         SELECT $1::uuid, row, row_key, $13::varchar, provider, environment, amount, currency, reference, view,
           master_key_id, wrapped_data_key, ciphertext, now()
         FROM unnest($2::int[], $3::varchar[], $4::varchar[], $5::varchar[], $6::numeric[], $7::char(3)[],
           $8::varchar[], $9::jsonb[], $10::varchar[], $11::bytea[], $12::bytea[])
           AS t (row, row_key, provider, environment, amount, currency, reference, view, master_key_id,
             wrapped_data_key, ciphertext)`,
        [
          batch.id,
          column((item) => item.row),
          column((item) => item.rowKey),
          column((item) => item.provider),
          column((item) => item.environment),
          column((item) => item.amount),
          column((item) => item.currency),
          column((item) => item.reference),
          column((item) => JSON.stringify(item.beneficiaryView)),
          column((item) => item.sealed.masterKeyId),
          column((item) => item.sealed.wrappedDataKey),
          column((item) => item.sealed.ciphertext),
          rowStatus,
        ],
      );
    }
    return true;
  }

  /**
   * Refreshes the planner's statistics of payout_batch_items, after a large upload: the rows of a
   * new batch are most of the table's rows until autovacuum's next analyze (up to a minute later),
   * and with the estimate of a few dozen rows per batch the finish check above reads the whole
   * batch (80 ms for 10,000 rows) instead of its last rows (under a millisecond). A role that does
   * not own the table gets a warning from PostgreSQL, not an error: autovacuum does it then.
   */
  async refreshItemStatistics(): Promise<void> {
    await this.dataSource.query('ANALYZE payout_batch_items');
  }

  /** How many rows are in each status (a row with a payout counts under the payout's status). */
  async counts(batchId: string, transaction?: Transaction): Promise<Record<string, number>> {
    const rows: Array<{ status: string; n: number }> = await (transaction ?? this.dataSource).query(
      `SELECT COALESCE(p.status, i.status) AS status, count(*)::int AS n
         FROM payout_batch_items i LEFT JOIN payouts p ON p.id = i.payout_id
        WHERE i.batch_id = $1 GROUP BY 1`,
      [batchId],
    );
    return Object.fromEntries(rows.map((row) => [row.status, row.n]));
  }

  /** Rows in row order after `afterRow`, by status; one more than `limit`. */
  async items(
    batchId: string,
    page: { status?: BatchItemStatus; afterRow?: number; limit: number },
  ): Promise<BatchItem[]> {
    const parameters: unknown[] = [batchId, page.limit + 1, page.afterRow ?? 0];
    let statusCondition = '';
    if (page.status) {
      parameters.push(page.status);
      statusCondition = `AND COALESCE(p.status, i.status) = $${parameters.length}`;
    }
    const rows: ItemRow[] = await this.dataSource.query(
      `SELECT ${ITEM_COLUMNS} FROM payout_batch_items i LEFT JOIN payouts p ON p.id = i.payout_id
        WHERE i.batch_id = $1 AND i.row > $3 ${statusCondition} ORDER BY i.row LIMIT $2`,
      parameters,
    );
    return rows.map(toItem);
  }

  /** Every row, in row order, read a page at a time (for results.csv). */
  async *allItems(batchId: string): AsyncGenerator<BatchItem> {
    let afterRow = 0;
    for (;;) {
      const page = await this.items(batchId, { afterRow, limit: 500 });
      for (const item of page.slice(0, 500)) yield item;
      if (page.length <= 500) return;
      afterRow = page[499].row;
    }
  }

  /**
   * Claims up to `limit` rows of `provider` that are due (queued, or sending with a lapsed lease:
   * their sender died) for `leaseMs`; replicas share the rows through SKIP LOCKED. Queued rows of
   * a cancelled batch are never claimed; its lapsed `sending` rows are, flagged `batchCancelled`,
   * so the runner settles them (a payout exists for the row, or the row is cancelled) without
   * sending anything.
   */
  async claimDue(
    provider: string,
    limit: number,
    leaseMs: number,
    ownerInstance: number | null,
  ): Promise<ClaimedItem[]> {
    const { rows } = await runPrepared<{
      batch_id: string;
      row: number;
      row_key: string;
      api_key_id: string;
      created_by_principal: string;
      master_key_id: string;
      wrapped_data_key: Buffer;
      ciphertext: Buffer;
      attempts: number;
      approvers: string[] | null;
      batch_cancelled: boolean;
    }>(
      this.dataSource,
      `WITH claimed AS (
         UPDATE payout_batch_items i SET status = 'sending', due_at = now() + $3 * interval '1 millisecond',
                attempts = LEAST(i.attempts + 1, ${MAX_ATTEMPTS}), owner_instance = $4, updated_at = now()
          WHERE (i.batch_id, i.row) IN (
            SELECT d.batch_id, d.row FROM payout_batch_items d JOIN payout_batches db ON db.id = d.batch_id
             WHERE d.provider = $1 AND d.status IN ('queued', 'sending') AND d.due_at <= now()
               AND (db.cancelled_at IS NULL OR d.status = 'sending')
             ORDER BY d.due_at, d.batch_id, d.row LIMIT $2 FOR UPDATE OF d SKIP LOCKED)
         RETURNING i.batch_id, i.row, i.row_key, i.master_key_id, i.wrapped_data_key, i.ciphertext, i.attempts)
       SELECT c.*, b.api_key_id, b.created_by_principal, b.cancelled_at IS NOT NULL AS batch_cancelled,
              CASE WHEN b.approvals_required > 0 THEN (
                SELECT array_agg(a.principal ORDER BY a.decided_at) FROM payout_batch_approvals a
                 WHERE a.batch_id = b.id AND a.decision = 'approved') END AS approvers
         FROM claimed c JOIN payout_batches b ON b.id = c.batch_id`,
      [provider, limit, leaseMs, ownerInstance],
    );
    return rows.map((row) => ({
      batchId: row.batch_id,
      row: row.row,
      rowKey: row.row_key,
      apiKeyId: row.api_key_id,
      principal: row.created_by_principal,
      sealed: { masterKeyId: row.master_key_id, wrappedDataKey: row.wrapped_data_key, ciphertext: row.ciphertext },
      attempts: row.attempts,
      batchApprovers: row.approvers,
      batchCancelled: row.batch_cancelled,
    }));
  }

  /** The batch, locked for the caller's transaction (approvals decide one after another). */
  async lock(transaction: Transaction, id: string): Promise<Batch | null> {
    const row = await transaction
      .getRepository(PayoutBatchEntity)
      .findOne({ where: { id }, lock: { mode: 'pessimistic_write' } });
    return row ? toBatch(row) : null;
  }

  async decisions(id: string, transaction?: Transaction): Promise<BatchDecision[]> {
    const rows = await (transaction ?? this.dataSource.manager)
      .getRepository(PayoutBatchApprovalEntity)
      .find({ where: { batchId: id }, order: { decidedAt: 'ASC' } });
    return rows.map((row) => ({
      principal: row.principal,
      decision: row.decision as BatchDecision['decision'],
      apiKeyId: row.apiKeyId,
      comment: row.comment,
      decidedAt: row.decidedAt,
    }));
  }

  /** False when this principal already made this decision on the batch. */
  async recordDecision(
    transaction: Transaction,
    batchId: string,
    decision: Omit<BatchDecision, 'decidedAt'>,
  ): Promise<boolean> {
    const rows: unknown[] = await transaction.query(
      `INSERT INTO payout_batch_approvals (batch_id, principal, decision, api_key_id, comment)
       VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING batch_id`,
      [batchId, decision.principal, decision.decision, decision.apiKeyId, decision.comment],
    );
    return rows.length > 0;
  }

  /** Approved: the batch is processing and its held rows are due now. */
  async release(transaction: Transaction, id: string): Promise<void> {
    await transaction.query(`UPDATE payout_batches SET status = 'processing' WHERE id = $1`, [id]);
    await transaction.query(
      `UPDATE payout_batch_items SET status = 'queued', due_at = now(), updated_at = now() WHERE batch_id = $1 AND status = 'held'`,
      [id],
    );
  }

  /**
   * Rejected or past its approval deadline: the batch is cancelled and finished, its held rows
   * cancelled (none was ever sent), with its batch.completed event, in the caller's transaction.
   */
  async cancelHeld(
    transaction: Transaction,
    id: string,
    event: (batch: Batch, counts: Record<string, number>) => OutboxEvent,
  ): Promise<Batch> {
    await transaction.query(
      `UPDATE payout_batches SET status = 'cancelled', cancelled_at = now(), completed_at = now() WHERE id = $1`,
      [id],
    );
    await transaction.query(
      `UPDATE payout_batch_items SET status = 'cancelled', updated_at = now() WHERE batch_id = $1 AND status = 'held'`,
      [id],
    );
    const batch = toBatch(await transaction.getRepository(PayoutBatchEntity).findOneByOrFail({ id }));
    const counts = await this.counts(id, transaction);
    await writeToOutbox(transaction, [event(batch, counts)]);
    return batch;
  }

  /** Batches waiting for approval past their deadline (oldest first). */
  async expiredPendingApproval(limit: number): Promise<string[]> {
    const rows: Array<{ id: string }> = await this.dataSource.query(
      `SELECT id FROM payout_batches WHERE status = 'pending_approval' AND approval_expires_at <= now()
        ORDER BY approval_expires_at LIMIT $1`,
      [limit],
    );
    return rows.map((row) => row.id);
  }

  /** The processes (liveness ids) other than `self` holding rows in `sending`. */
  async sendingOwners(self: number | null): Promise<number[]> {
    const rows: Array<{ owner: number }> = await this.dataSource.query(
      `SELECT DISTINCT owner_instance AS owner FROM payout_batch_items
        WHERE status = 'sending' AND owner_instance IS NOT NULL AND owner_instance IS DISTINCT FROM $1`,
      [self],
    );
    return rows.map((row) => row.owner);
  }

  /** Makes the rows that dead senders held due now, instead of when their leases end. */
  async releaseRowsOf(owners: number[]): Promise<number> {
    if (owners.length === 0) return 0;
    const [, released] = await this.dataSource.query<[unknown, number]>(
      `UPDATE payout_batch_items SET due_at = now() WHERE status = 'sending' AND owner_instance = ANY($1::int[])`,
      [owners],
    );
    return released;
  }

  /**
   * The row's submitted mark as part of its payout's first commit (PayoutsService.create): the
   * row follows the payout from the moment the payout exists, with no commit of its own and no
   * window in which a payout exists behind a row still `sending`. Its guard stores nothing for a
   * row whose batch was cancelled since it was claimed (the claim is then settled as cancelled).
   */
  submittedWithPayout(claim: RowClaim): FirstCommitLink {
    return {
      guard: (p) => `NOT EXISTS (SELECT 1 FROM payout_batches WHERE id = ${p(1)}::uuid AND cancelled_at IS NOT NULL)`,
      write: (p, claimed) =>
        `UPDATE payout_batch_items i SET status = 'submitted', payout_id = c.payout_id, error_code = NULL,
           error_message = NULL, updated_at = now()
          FROM ${claimed} c WHERE i.batch_id = ${p(1)}::uuid AND i.row = ${p(2)}::int`,
      parameters: [claim.batchId, claim.row],
    };
  }

  /**
   * The row's payout exists: from now on the row shows the payout's status. Not fenced by the
   * claim: whichever attempt learns of the payout records it, even after the row was settled
   * otherwise (a payout that exists must never be hidden behind "refused" or "cancelled").
   */
  async markSubmitted(batchId: string, row: number, payoutId: string): Promise<void> {
    await runPrepared(
      this.dataSource,
      `UPDATE payout_batch_items SET status = 'submitted', payout_id = $3, error_code = NULL, error_message = NULL,
         updated_at = now() WHERE batch_id = $1 AND row = $2`,
      [batchId, row, payoutId],
    );
  }

  /**
   * The row was refused for good (a limit, a disabled beneficiary): nothing was stored for it.
   * Only by the attempt that holds the claim (`attempts`): a stale attempt whose lease lapsed
   * and whose row was claimed again changes nothing.
   */
  async markRefused(claim: RowClaim, code: string, message: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE payout_batch_items SET status = 'refused', error_code = $4, error_message = $5, updated_at = now()
        WHERE batch_id = $1 AND row = $2 AND status = 'sending' AND attempts = $3`,
      [claim.batchId, claim.row, claim.attempts, code, message.slice(0, 300)],
    );
  }

  /** The row of a cancelled batch was never sent (no payout exists under its key): cancelled, by its claim's holder. */
  async markCancelled(claim: RowClaim): Promise<void> {
    await this.dataSource.query(
      `UPDATE payout_batch_items SET status = 'cancelled', updated_at = now()
        WHERE batch_id = $1 AND row = $2 AND status = 'sending' AND attempts = $3`,
      [claim.batchId, claim.row, claim.attempts],
    );
  }

  /**
   * The row could not be sent now (credentials missing, database busy, …): queued again at
   * `dueAt` by the claim's holder. Answers 'batch_cancelled' (the row left as it is) when its
   * batch was cancelled: the batch row is locked FOR SHARE first, so a cancel either commits
   * before (and is seen here) or waits for this and then cancels the queued row itself; a row is
   * never queued again in a cancelled batch.
   */
  async requeue(
    claim: RowClaim,
    error: { code: string; message: string },
    dueAt: Date,
  ): Promise<'queued' | 'batch_cancelled' | 'not_ours'> {
    return this.dataSource.transaction(async (manager) => {
      const batches: Array<{ cancelled: boolean }> = await manager.query(
        `SELECT cancelled_at IS NOT NULL AS cancelled FROM payout_batches WHERE id = $1 FOR SHARE`,
        [claim.batchId],
      );
      if (batches[0]?.cancelled !== false) return 'batch_cancelled';
      const [, updated] = await manager.query<[unknown, number]>(
        `UPDATE payout_batch_items SET status = 'queued', error_code = $4, error_message = $5, due_at = $6,
           updated_at = now() WHERE batch_id = $1 AND row = $2 AND status = 'sending' AND attempts = $3`,
        [claim.batchId, claim.row, claim.attempts, error.code, error.message.slice(0, 300), dueAt],
      );
      return updated > 0 ? 'queued' : 'not_ours';
    });
  }

  /**
   * Marks the batch (locked by the caller) cancelled and its rows not yet claimed as cancelled, in
   * the caller's transaction; answers how many rows it stopped. Rows being sent finish (their
   * payout may exist already).
   */
  async cancelQueued(transaction: Transaction, id: string): Promise<number> {
    await transaction.query(`UPDATE payout_batches SET cancelled_at = COALESCE(cancelled_at, now()) WHERE id = $1`, [
      id,
    ]);
    // An UPDATE without RETURNING answers [rows, affected] through TypeORM's query().
    const [, cancelledRows] = await transaction.query<[unknown, number]>(
      `UPDATE payout_batch_items SET status = 'cancelled', updated_at = now() WHERE batch_id = $1 AND status = 'queued'`,
      [id],
    );
    return cancelledRows;
  }

  /**
   * Finishes every processing batch whose rows are all final (refused, cancelled, or a payout in a
   * final state), with its batch.completed event, in one transaction per batch; answers them.
   */
  async completeFinished(
    event: (batch: Batch, counts: Record<string, number>) => OutboxEvent,
  ): Promise<Array<{ batch: Batch; counts: Record<string, number> }>> {
    // The last unfinished row, looked for from the last row back: rows finish roughly in row
    // order, so one is found among the last few while a batch runs, where a NOT EXISTS (whose
    // order PostgreSQL chooses) read most of the batch's rows with a payout each on every pass
    // (90 ms for 10,000 rows, run every few seconds). Only a finished batch is read whole, once.
    const candidates: Array<{ id: string }> = await this.dataSource.query(
      `SELECT b.id FROM payout_batches b WHERE b.status = 'processing' AND (
         SELECT i.row FROM payout_batch_items i LEFT JOIN payouts p ON p.id = i.payout_id
          WHERE i.batch_id = b.id AND (i.status IN ('queued', 'sending')
             OR (i.status = 'submitted' AND p.status NOT IN ('completed', 'failed', 'rejected', 'cancelled')))
          ORDER BY i.row DESC LIMIT 1) IS NULL
       LIMIT 100`,
    );
    const finished: Array<{ batch: Batch; counts: Record<string, number> }> = [];
    for (const { id } of candidates) {
      const done = await this.dataSource.transaction(async (manager) => {
        const rows: PayoutBatchEntity[] = await manager.query(
          `UPDATE payout_batches SET status = CASE WHEN cancelled_at IS NULL THEN 'completed' ELSE 'cancelled' END,
             completed_at = now() WHERE id = $1 AND status = 'processing' RETURNING id`,
          [id],
        );
        // Another replica finished it first.
        if (rows.length === 0) return null;
        const batch = toBatch(await manager.getRepository(PayoutBatchEntity).findOneByOrFail({ id }));
        const counts = await this.counts(id, manager);
        await writeToOutbox(manager, [event(batch, counts)]);
        return { batch, counts };
      });
      if (done) finished.push(done);
    }
    return finished;
  }
}

function toBatch(row: PayoutBatchEntity): Batch {
  return {
    id: row.id,
    status: row.status as Batch['status'],
    apiKeyId: row.apiKeyId,
    idempotencyKey: row.idempotencyKey,
    requestHash: row.requestHash,
    createdByPrincipal: row.createdByPrincipal,
    source: row.source as Batch['source'],
    fileName: row.fileName,
    itemCount: row.itemCount,
    skippedCount: row.skippedCount,
    approvalsRequired: row.approvalsRequired,
    approvalReasons: row.approvalReasons,
    approvalExpiresAt: row.approvalExpiresAt,
    skipped: row.skipped,
    createdAt: row.createdAt,
    cancelledAt: row.cancelledAt,
    completedAt: row.completedAt,
  };
}

function toItem(row: ItemRow): BatchItem {
  return {
    batchId: row.batch_id,
    row: row.row,
    rowKey: row.row_key,
    status: row.status,
    provider: row.provider,
    environment: row.environment,
    amount: formatAmount(row.amount, row.currency),
    currency: row.currency,
    reference: row.reference,
    beneficiary: row.beneficiary_view,
    payoutId: row.payout_id,
    failure: row.failure_code || row.failure_reason ? { code: row.failure_code, reason: row.failure_reason } : null,
    error: row.error_code ? { code: row.error_code, message: row.error_message ?? '' } : null,
    attempts: row.attempts,
    updatedAt: row.updated_at,
  };
}
