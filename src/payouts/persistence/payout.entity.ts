import {
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryColumn,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
} from 'typeorm';
import type { Beneficiary, Provider, ProviderEnvironment } from '../../providers/provider.port';
import { SealedBeneficiary } from '../beneficiary/payout-beneficiaries';
import { formatAmount } from '../domain/money';
import type { MaskedBeneficiary, Payout, PayoutStatus, PayoutView } from '../domain/payout';

@Entity({ name: 'payouts' })
@Index('ix_payouts_created', ['createdAt', 'id'])
// Lists filtered by status, or by provider and environment, read these in the list's order
// (newest first, then id) and seek past a cursor with a row comparison: a page costs the same on
// the first page and the ten-thousandth, with a million payouts or more.
@Index('ix_payouts_status_created', ['status', 'createdAt', 'id'])
@Index('ix_payouts_provider_created', ['provider', 'environment', 'createdAt', 'id'])
@Index('ix_payouts_provider_status_created', ['provider', 'environment', 'status', 'createdAt', 'id'])
// A notification that names the provider's reference (an order number) finds its payout
// in one probe, not a scan of the table.
@Index('ix_payouts_provider_reference', ['provider', 'providerReference'], {
  where: 'provider_reference IS NOT NULL',
})
// The reconciler's claim takes each provider's most overdue checks: in this order, it reads only
// the rows it claims (without it, every payout of the provider was read and sorted each round).
// Partial: the reconciler only ever looks for rows with a check due; most rows are final and have none.
@Index('ix_payouts_provider_next_check', ['provider', 'nextCheckAt'], { where: 'next_check_at IS NOT NULL' })
// Partial: only payouts waiting for approval have an expiry; the reconciler's sweep cancels the expired ones.
@Index('ix_payouts_approval_expiry', ['approvalExpiresAt'], { where: `status = 'pending_approval'` })
// Rolling 24 h limits sum one currency's recently counted payouts: an index-only range scan (built
// with INCLUDE by its own migration, which TypeORM cannot express; synchronize: false keeps it as built).
@Index('ix_payouts_currency_counted', { synchronize: false })
// Partial: empty once every row is sealed, so the sealing job's "anything left?" is free at each boot.
@Index('ix_payouts_beneficiary_unsealed', ['id'], { where: '"beneficiary_ciphertext" IS NULL' })
export class PayoutEntity {
  /** Also the provider's external id: a re-sent create is recognised as the same payout. */
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @Column({ type: 'varchar', length: 16 })
  provider!: Provider;

  @Column({ type: 'varchar', length: 16 })
  environment!: ProviderEnvironment;

  @Column({ type: 'varchar', length: 16 })
  status!: PayoutStatus;

  /** Exact decimal; read back as a string, never a float. */
  @Column({ type: 'numeric', precision: 24, scale: 6 })
  amount!: string;

  @Column({ type: 'char', length: 3 })
  currency!: string;

  /**
   * Readable: the masked beneficiary that answers and the history show. The full one is only in
   * the sealed columns below. (A row written before sealing holds its plaintext here until
   * BeneficiarySealing reaches it; toPayout() masks it meanwhile.)
   */
  @Column({ type: 'jsonb' })
  beneficiary!: MaskedBeneficiary | Beneficiary;

  /**
   * The full beneficiary, sealed with the vault's envelope scheme (AES-256-GCM data key bound to
   * the payout id, wrapped by this master key). Nullable only because rows created before sealing
   * are sealed by a boot-time job (SQL cannot encrypt) and because replicas of the previous version
   * keep inserting without them during a rolling deploy; every row this version writes has them.
   */
  @Column({ name: 'beneficiary_master_key_id', type: 'varchar', length: 32, nullable: true })
  beneficiaryMasterKeyId!: string | null;

  @Column({ name: 'beneficiary_wrapped_key', type: 'bytea', nullable: true })
  beneficiaryWrappedKey!: Buffer | null;

  @Column({ name: 'beneficiary_ciphertext', type: 'bytea', nullable: true })
  beneficiaryCiphertext!: Buffer | null;

  /** The stored beneficiary the payout was made to (POST /v1/payouts with beneficiaryId); null for an inline one. */
  @Column({ name: 'beneficiary_id', type: 'uuid', nullable: true })
  beneficiaryId!: string | null;

  /** HMAC-SHA256 of the account identifier, under a key derived from beneficiary_master_key_id's key: for equality lookups. */
  @Index('ix_payouts_beneficiary_fingerprint')
  @Column({ name: 'beneficiary_fingerprint', type: 'char', length: 64, nullable: true })
  beneficiaryFingerprint!: string | null;

  @Index('ix_payouts_reference')
  @Column({ type: 'varchar', length: 140, nullable: true })
  reference!: string | null;

  @Column({ type: 'jsonb', default: () => `'{}'` })
  metadata!: Record<string, string>;

  @Column({ name: 'provider_reference', type: 'varchar', length: 100, nullable: true })
  providerReference!: string | null;

  @Column({ name: 'provider_status', type: 'varchar', length: 40, nullable: true })
  providerStatus!: string | null;

  @Column({ name: 'failure_code', type: 'varchar', length: 60, nullable: true })
  failureCode!: string | null;

  @Column({ name: 'failure_reason', type: 'text', nullable: true })
  failureReason!: string | null;

  @Column({ type: 'jsonb', nullable: true })
  fees!: { amount: string; currency: string } | null;

  @Column({ name: 'created_by_key_id', type: 'uuid', nullable: true })
  createdByKeyId!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;

  /** When the reconciler looks at it next (a lease while a request is still working on it). */
  @Column({ name: 'next_check_at', type: 'timestamptz', nullable: true })
  nextCheckAt!: Date | null;

  @Column({ name: 'check_attempts', type: 'int', default: 0 })
  checkAttempts!: number;

  /** How many distinct approvers the payout needs before it is sent (0: none, it was sent at once). */
  @Column({ name: 'approvals_required', type: 'smallint', default: 0 })
  approvalsRequired!: number;

  /**
   * When the payout started to count against rolling limits: its creation, and again its approval
   * (a payout approved days after it was asked for leaves when it is approved, and counts from then).
   * Null only for payouts older than the limits (the migration set it for the last day's).
   */
  @Column({ name: 'counted_at', type: 'timestamptz', nullable: true })
  countedAt!: Date | null;

  /** Created parked at the provider: every submission asks for the hold. */
  @Column({ name: 'hold_on_create', type: 'boolean', default: false })
  holdOnCreate!: boolean;

  /** While pending_approval: when it is cancelled if not approved by then. */
  @Column({ name: 'approval_expires_at', type: 'timestamptz', nullable: true })
  approvalExpiresAt!: Date | null;

  /** When a provider notification last made us fetch the status: at most one such fetch per interval. */
  @Column({ name: 'webhook_fetch_at', type: 'timestamptz', nullable: true })
  webhookFetchAt!: Date | null;
}

/** Append-only history of every transition and provider exchange (beneficiaries masked). */
@Entity({ name: 'payout_events' })
@Index('ix_payout_events_payout', ['payoutId', 'id'])
export class PayoutEventEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @Column({ name: 'payout_id', type: 'uuid' })
  payoutId!: string;

  @ManyToOne(() => PayoutEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'payout_id', foreignKeyConstraintName: 'fk_payout_events_payout' })
  payout?: PayoutEntity;

  @Column({ type: 'varchar', length: 40 })
  type!: string;

  @Column({ name: 'from_status', type: 'varchar', length: 16, nullable: true })
  fromStatus!: string | null;

  @Column({ name: 'to_status', type: 'varchar', length: 16, nullable: true })
  toStatus!: string | null;

  @Column({ type: 'jsonb', default: () => `'{}'` })
  detail!: Record<string, unknown>;

  @CreateDateColumn({ name: 'occurred_at', type: 'timestamptz' })
  occurredAt!: Date;
}

/**
 * Maker-checker decisions, append-only: at most one approval and one rejection per principal and
 * payout (a second approval by the same person, through any of their keys, is not a second pair of
 * eyes; an approver may still reject what they approved while it waits).
 */
@Entity({ name: 'payout_approvals' })
@Index('ux_payout_approvals_principal', ['payoutId', 'principal', 'decision'], { unique: true })
export class PayoutApprovalEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @Column({ name: 'payout_id', type: 'uuid' })
  payoutId!: string;

  @ManyToOne(() => PayoutEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'payout_id', foreignKeyConstraintName: 'fk_payout_approvals_payout' })
  payout?: PayoutEntity;

  @Column({ type: 'varchar', length: 10 })
  decision!: 'approved' | 'rejected';

  /** The approver's principal (key owner, or key:<id>). */
  @Column({ type: 'varchar', length: 100 })
  principal!: string;

  @Column({ name: 'api_key_id', type: 'uuid' })
  apiKeyId!: string;

  @Column({ type: 'varchar', length: 500, nullable: true })
  comment!: string | null;

  @CreateDateColumn({ name: 'decided_at', type: 'timestamptz' })
  decidedAt!: Date;
}

/** One row per (API key, Idempotency-Key): the request's fingerprint and, once done, its response. */
@Entity({ name: 'idempotency_keys' })
@Index('ix_idempotency_keys_expires', ['expiresAt'])
export class IdempotencyKeyEntity {
  @PrimaryColumn({ name: 'api_key_id', type: 'uuid' })
  apiKeyId!: string;

  @PrimaryColumn({ name: 'idempotency_key', type: 'varchar', length: 255 })
  idempotencyKey!: string;

  @Column({ name: 'request_hash', type: 'char', length: 64 })
  requestHash!: string;

  @Column({ name: 'payout_id', type: 'uuid' })
  payoutId!: string;

  @Column({ name: 'response_status', type: 'int', nullable: true })
  responseStatus!: number | null;

  @Column({ name: 'response_body', type: 'jsonb', nullable: true })
  responseBody!: unknown;

  /**
   * The process working on the first attempt (its liveness lock in PostgreSQL, see
   * InstanceLiveness); a retry takes the claim over at once when that process is gone.
   */
  @Column({ name: 'owner_instance', type: 'int', nullable: true })
  ownerInstance!: number | null;

  /** Until when the owner may work undisturbed; a claim past it is taken over even if its owner lives. */
  @Column({ name: 'lease_until', type: 'timestamptz', nullable: true })
  leaseUntil!: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;
}

/**
 * What a PayoutView is read from: every column but the sealed beneficiary (the masked view is
 * the readable `beneficiary` column) and the bookkeeping no answer shows (checks, limits).
 */
export const PAYOUT_VIEW_OMITS = [
  'beneficiaryMasterKeyId',
  'beneficiaryWrappedKey',
  'beneficiaryCiphertext',
  'beneficiaryFingerprint',
  'beneficiaryId',
  'nextCheckAt',
  'checkAttempts',
  'webhookFetchAt',
  'countedAt',
] as const satisfies ReadonlyArray<keyof PayoutEntity>;

type PayoutViewColumns = Omit<PayoutEntity, (typeof PAYOUT_VIEW_OMITS)[number]>;

/** `beneficiarySealed`: the row's beneficiary is sealed (its `beneficiary` column is already the masked view). */
export function toPayoutView(
  row: PayoutViewColumns,
  { beneficiarySealed }: { beneficiarySealed: boolean },
): PayoutView {
  return {
    id: row.id,
    provider: row.provider,
    environment: row.environment,
    status: row.status,
    amount: { amount: formatAmount(row.amount, row.currency), currency: row.currency },
    beneficiary: SealedBeneficiary.maskedView(row.beneficiary, { sealed: beneficiarySealed }),
    reference: row.reference,
    metadata: row.metadata,
    providerReference: row.providerReference,
    providerStatus: row.providerStatus,
    failureCode: row.failureCode,
    failureReason: row.failureReason,
    fees: row.fees,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    createdByKeyId: row.createdByKeyId,
    approvalsRequired: row.approvalsRequired,
    approvalExpiresAt: row.approvalExpiresAt,
    holdOnCreate: row.holdOnCreate,
  };
}

export function toPayout(row: PayoutEntity): Payout {
  return {
    ...toPayoutView(row, { beneficiarySealed: row.beneficiaryCiphertext !== null }),
    sealedBeneficiary: SealedBeneficiary.fromRow(row),
  };
}
