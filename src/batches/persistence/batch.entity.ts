import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn, Unique } from 'typeorm';

/**
 * A payout batch: many payouts sent as one, from JSON items or a CSV file. Its Idempotency-Key
 * (per API key) makes the same upload answer the same batch.
 */
@Entity({ name: 'payout_batches' })
@Unique('uq_payout_batches_idempotency', ['apiKeyId', 'idempotencyKey'])
@Index('ix_payout_batches_created', ['createdAt', 'id'])
// The runner's sweeps (batches to finish, approval deadlines) read the few open batches, never the finished history.
@Index('ix_payout_batches_open', ['status', 'approvalExpiresAt'], {
  where: `status IN ('pending_approval', 'processing')`,
})
export class PayoutBatchEntity {
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  /**
   * pending_approval (rows held) → processing → completed, or cancelled (a cancel, a rejection, or
   * an approval deadline passed) once every row sent is final.
   */
  @Column({ type: 'varchar', length: 20 })
  status!: string;

  /** Distinct approvers (key owners other than the creator) the batch needs before any row is sent; 0: none. */
  @Column({ name: 'approvals_required', type: 'smallint', default: 0 })
  approvalsRequired!: number;

  /** Which approval rules of the payout policies asked for it (atOrAbove, everyPayout, firstPayoutToBeneficiary). */
  @Column({ name: 'approval_reasons', type: 'jsonb', default: () => "'[]'" })
  approvalReasons!: string[];

  @Column({ name: 'approval_expires_at', type: 'timestamptz', nullable: true })
  approvalExpiresAt!: Date | null;

  @Column({ name: 'api_key_id', type: 'uuid' })
  apiKeyId!: string;

  @Column({ name: 'idempotency_key', type: 'varchar', length: 255 })
  idempotencyKey!: string;

  /** SHA-256 of the rows as parsed: the same key with other rows is refused, not replayed. */
  @Column({ name: 'request_hash', type: 'char', length: 64 })
  requestHash!: string;

  @Column({ name: 'created_by_principal', type: 'varchar', length: 100 })
  createdByPrincipal!: string;

  /** json or csv. */
  @Column({ type: 'varchar', length: 10 })
  source!: string;

  @Column({ name: 'file_name', type: 'varchar', length: 255, nullable: true })
  fileName!: string | null;

  @Column({ name: 'item_count', type: 'int' })
  itemCount!: number;

  /** Invalid rows left out because the caller asked to skip them; their problems are in `skipped`. */
  @Column({ name: 'skipped_count', type: 'int', default: 0 })
  skippedCount!: number;

  @Column({ type: 'jsonb', default: () => "'[]'" })
  skipped!: Array<{ row: number; field: string; code: string; message: string }>;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'cancelled_at', type: 'timestamptz', nullable: true })
  cancelledAt!: Date | null;

  @Column({ name: 'completed_at', type: 'timestamptz', nullable: true })
  completedAt!: Date | null;
}

/**
 * One row of a batch, stored (sealed) before any row is sent: a restart finds every row still to
 * send. Sent as a payout with the Idempotency-Key `batch:<batchId>:<rowKey>`, so a row retried
 * after a crash is answered by its first attempt, never paid twice.
 */
@Entity({ name: 'payout_batch_items' })
// Due rows in the order the runner claims them, so a claim reads only the rows it takes.
@Index('ix_payout_batch_items_due_order', ['provider', 'dueAt', 'batchId', 'row'], {
  where: `status IN ('queued', 'sending')`,
})
@Index('ix_payout_batch_items_payout', ['payoutId'], { where: 'payout_id IS NOT NULL' })
// Who is sending rows now (to release a dead sender's): the rows in flight only.
@Index('ix_payout_batch_items_sending', ['ownerInstance'], { where: `status = 'sending'` })
export class PayoutBatchItemEntity {
  @PrimaryColumn({ name: 'batch_id', type: 'uuid' })
  batchId!: string;

  @ManyToOne(() => PayoutBatchEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'batch_id', foreignKeyConstraintName: 'fk_payout_batch_items_batch' })
  batch?: PayoutBatchEntity;

  /** 1 for the first row (below a CSV's header). */
  @PrimaryColumn({ type: 'int' })
  row!: number;

  @Column({ name: 'row_key', type: 'varchar', length: 200 })
  rowKey!: string;

  /** queued → sending → submitted (then the payout's own status), or refused, or cancelled. */
  @Column({ type: 'varchar', length: 20 })
  status!: string;

  @Column({ type: 'varchar', length: 20 })
  provider!: string;

  @Column({ type: 'varchar', length: 20 })
  environment!: string;

  @Column({ type: 'numeric', precision: 20, scale: 6 })
  amount!: string;

  @Column({ type: 'char', length: 3 })
  currency!: string;

  @Column({ type: 'varchar', length: 140, nullable: true })
  reference!: string | null;

  /** What lists and results.csv show: the beneficiary masked, or the stored beneficiary's id. */
  @Column({ name: 'beneficiary_view', type: 'jsonb' })
  beneficiaryView!: Record<string, unknown>;

  // The whole row (beneficiary and metadata included), sealed under the context `<batchId>/<row>`.
  @Column({ name: 'master_key_id', type: 'varchar', length: 32 })
  masterKeyId!: string;

  @Column({ name: 'wrapped_data_key', type: 'bytea' })
  wrappedDataKey!: Buffer;

  @Column({ type: 'bytea' })
  ciphertext!: Buffer;

  /** When a queued row may be claimed; a claimed (sending) row's lease end. */
  @Column({ name: 'due_at', type: 'timestamptz' })
  dueAt!: Date;

  @Column({ type: 'smallint', default: 0 })
  attempts!: number;

  /** The liveness id of the process sending it (see InstanceLiveness): a row of a dead sender is claimed again at once. */
  @Column({ name: 'owner_instance', type: 'int', nullable: true })
  ownerInstance!: number | null;

  @Column({ name: 'payout_id', type: 'uuid', nullable: true })
  payoutId!: string | null;

  @Column({ name: 'error_code', type: 'varchar', length: 60, nullable: true })
  errorCode!: string | null;

  @Column({ name: 'error_message', type: 'varchar', length: 300, nullable: true })
  errorMessage!: string | null;

  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt!: Date;
}

/** One decision on a batch by one principal (append-only, like payout_approvals). */
@Entity({ name: 'payout_batch_approvals' })
export class PayoutBatchApprovalEntity {
  @PrimaryColumn({ name: 'batch_id', type: 'uuid' })
  batchId!: string;

  @ManyToOne(() => PayoutBatchEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'batch_id', foreignKeyConstraintName: 'fk_payout_batch_approvals_batch' })
  batch?: PayoutBatchEntity;

  @PrimaryColumn({ type: 'varchar', length: 100 })
  principal!: string;

  /** approved or rejected. */
  @PrimaryColumn({ type: 'varchar', length: 10 })
  decision!: string;

  @Column({ name: 'api_key_id', type: 'uuid' })
  apiKeyId!: string;

  @Column({ type: 'varchar', length: 500, nullable: true })
  comment!: string | null;

  @CreateDateColumn({ name: 'decided_at', type: 'timestamptz' })
  decidedAt!: Date;
}
