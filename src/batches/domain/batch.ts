import type { SealedSecret } from '../../credentials/crypto/envelope';
import { PAYOUT_STATUSES } from '../../payouts/domain/payout';
import { BATCH_ROW_KEY_PREFIX } from '../../payouts/domain/idempotency';
import type { RowProblem } from './batch-rows';

export const BATCH_STATUSES = ['pending_approval', 'processing', 'completed', 'cancelled'] as const;
export type BatchStatus = (typeof BATCH_STATUSES)[number];

/**
 * What a row shows: its own status until its payout exists (held while its batch waits for
 * approval, queued, sending, refused, cancelled), then its payout's status.
 */
export const BATCH_ITEM_STATUSES = ['held', 'queued', 'sending', 'refused', ...PAYOUT_STATUSES] as const;
export type BatchItemStatus = (typeof BATCH_ITEM_STATUSES)[number];

export interface Batch {
  id: string;
  status: BatchStatus;
  apiKeyId: string;
  idempotencyKey: string;
  requestHash: string;
  createdByPrincipal: string;
  source: 'json' | 'csv';
  fileName: string | null;
  itemCount: number;
  skippedCount: number;
  /** Distinct approvers the batch needs before any row is sent (0: none). */
  approvalsRequired: number;
  approvalReasons: string[];
  approvalExpiresAt: Date | null;
  /** The problems of the rows left out (skipInvalid). */
  skipped: RowProblem[];
  createdAt: Date;
  cancelledAt: Date | null;
  completedAt: Date | null;
}

export type NewBatch = Omit<Batch, 'status' | 'itemCount' | 'createdAt' | 'cancelledAt' | 'completedAt'>;

export interface NewBatchItem {
  row: number;
  rowKey: string;
  provider: string;
  environment: string;
  amount: string;
  currency: string;
  reference: string | null;
  beneficiaryView: Record<string, unknown>;
  /** The whole row (a NewPayout as JSON), sealed under `<batchId>/<row>`. */
  sealed: SealedSecret;
}

export interface BatchItem {
  batchId: string;
  row: number;
  rowKey: string;
  status: string;
  provider: string;
  environment: string;
  amount: string;
  currency: string;
  reference: string | null;
  beneficiary: Record<string, unknown>;
  payoutId: string | null;
  /** The payout's failure, once it has one. */
  failure: { code: string | null; reason: string | null } | null;
  /** Why the row was refused, or why its last attempt to send it did not go through. */
  error: { code: string; message: string } | null;
  attempts: number;
  updatedAt: Date;
}

/** A row claimed for sending, with what the send needs. */
export interface ClaimedItem {
  batchId: string;
  row: number;
  rowKey: string;
  apiKeyId: string;
  principal: string;
  sealed: SealedSecret;
  attempts: number;
  /** Who approved the batch, when it needed approval: its rows' payouts are not held again one by one. */
  batchApprovers: string[] | null;
  /** The batch was cancelled after this row was claimed by a sender now gone: settle it, send nothing. */
  batchCancelled: boolean;
}

/** The sealing context of a batch row: rows cannot be swapped between batches or positions. */
export function batchRowContext(batchId: string, row: number): string {
  return `${batchId}/${row}`;
}

/** The Idempotency-Key of a row's payout (under the batch creator's API key). */
export function rowPayoutKey(batchId: string, rowKey: string): string {
  return `${BATCH_ROW_KEY_PREFIX}${batchId}:${rowKey}`;
}

/** One approver's decision on a batch. */
export interface BatchDecision {
  principal: string;
  decision: 'approved' | 'rejected';
  apiKeyId: string;
  comment: string | null;
  decidedAt: Date;
}
