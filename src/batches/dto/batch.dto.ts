import { ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayNotEmpty, IsArray, IsBoolean, IsIn, IsObject, IsOptional } from 'class-validator';
import { CursorPageQueryDto } from '../../common/http/cursor-page-query.dto';
import { TERMINAL } from '../../payouts/domain/payout';
import { CreatePayoutDto, MASKED_BENEFICIARY_MODELS } from '../../payouts/dto/payout.dto';
import {
  BATCH_ITEM_STATUSES,
  BATCH_STATUSES,
  type Batch,
  type BatchDecision,
  type BatchItem,
  type BatchItemStatus,
} from '../domain/batch';
import { MAX_BATCH_ROWS } from '../domain/batch-rows';
import type { BatchReport } from '../batches.service';

export class BatchItemInputDto extends CreatePayoutDto {
  @ApiPropertyOptional({
    example: 'invoice-2026-0042',
    maxLength: 200,
    description:
      'The row’s own key, unique in the batch: its payout’s Idempotency-Key is batch:<batchId>:<rowKey>. Defaults to the row number.',
  })
  rowKey?: string;
}

export class CreateBatchDto {
  @ApiProperty({
    type: BatchItemInputDto,
    isArray: true,
    maxItems: MAX_BATCH_ROWS,
    description: `1 to ${MAX_BATCH_ROWS} payouts, each as POST /v1/payouts takes one, plus an optional rowKey. Rows are checked one by one (see dryRun).`,
  })
  @IsArray()
  @ArrayNotEmpty()
  @ArrayMaxSize(MAX_BATCH_ROWS)
  @IsObject({ each: true, message: 'each item must be an object' })
  items!: Array<Record<string, unknown>>;

  @ApiPropertyOptional({
    default: false,
    description: 'Check every row and answer the report; nothing is stored or sent.',
  })
  @IsOptional()
  @IsBoolean()
  dryRun?: boolean;

  @ApiPropertyOptional({
    default: false,
    description:
      'Send the valid rows and leave the invalid ones out (listed in the batch’s skipped) instead of refusing the whole batch.',
  })
  @IsOptional()
  @IsBoolean()
  skipInvalid?: boolean;
}

export class RowProblemDto {
  @ApiProperty({
    type: 'integer',
    example: 3,
    description: '1 = the first item (or the first CSV row below the header).',
  })
  row!: number;

  @ApiProperty({ example: 'beneficiary.documentId' })
  field!: string;

  @ApiProperty({ example: 'INVALID_DOCUMENT' })
  code!: string;

  @ApiProperty({ example: 'is not a valid CPF (check digits)' })
  message!: string;
}

export class CurrencyTotalDto {
  @ApiProperty({ example: 'BRL' })
  currency!: string;

  @ApiProperty({ example: '15230.50', description: 'Decimal string.' })
  amount!: string;

  @ApiProperty({ type: 'integer', example: 120 })
  count!: number;
}

export class BatchReportDto {
  @ApiProperty({ enum: [true], description: 'Always true: nothing was stored or sent.' })
  dryRun!: true;

  @ApiProperty({ type: 'integer' })
  rows!: number;

  @ApiProperty({ type: 'integer' })
  validRows!: number;

  @ApiProperty({ type: 'integer' })
  invalidRows!: number;

  @ApiProperty({ type: RowProblemDto, isArray: true, description: 'Every problem of every row (the first 1,000).' })
  problems!: RowProblemDto[];

  @ApiProperty({ type: CurrencyTotalDto, isArray: true, description: 'What the valid rows would pay, per currency.' })
  totals!: CurrencyTotalDto[];

  static from(report: BatchReport): BatchReportDto {
    return { dryRun: true, ...report };
  }
}

export class BatchProgressDto {
  @ApiProperty({
    type: 'integer',
    description: 'Rows in a final state (payout completed, failed, rejected or cancelled; row refused or cancelled).',
  })
  done!: number;

  @ApiProperty({ type: 'integer' })
  total!: number;

  @ApiProperty({ type: 'integer', minimum: 0, maximum: 100 })
  percent!: number;
}

export class BatchDecisionDto {
  @ApiProperty({ example: 'bea@acme.example' })
  principal!: string;

  @ApiProperty({ enum: ['approved', 'rejected'] })
  decision!: string;

  @ApiProperty({ type: String, nullable: true })
  comment!: string | null;

  @ApiProperty({ type: String, format: 'date-time' })
  decidedAt!: string;
}

export class BatchApprovalDto {
  @ApiProperty({ type: 'integer', description: 'Distinct approvers (key owners other than the creator) it needs.' })
  required!: number;

  @ApiProperty({
    type: String,
    isArray: true,
    example: ['atOrAbove'],
    description: 'The payout policies’ approval rules some row triggered.',
  })
  reasons!: string[];

  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'Cancelled, nothing sent, if not approved by then.',
  })
  expiresAt!: string | null;

  @ApiProperty({ type: BatchDecisionDto, isArray: true })
  decisions!: BatchDecisionDto[];
}

/** A row is done when its payout is final, or it was refused or cancelled before it had one. */
const FINAL_ROW_STATUSES: ReadonlySet<string> = new Set([...TERMINAL, 'refused']);

export class BatchDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({
    enum: BATCH_STATUSES,
    description: 'processing until every row is final; cancelled when a cancel stopped rows.',
  })
  status!: string;

  @ApiProperty({ enum: ['json', 'csv'] })
  source!: string;

  @ApiProperty({ type: String, nullable: true })
  fileName!: string | null;

  @ApiProperty({ type: 'integer', description: 'Rows stored to be sent.' })
  itemCount!: number;

  @ApiProperty({ type: 'integer', description: 'Invalid rows left out (skipInvalid).' })
  skippedCount!: number;

  @ApiProperty({
    type: RowProblemDto,
    isArray: true,
    description: 'The problems of the rows left out (the first 1,000).',
  })
  skipped!: RowProblemDto[];

  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'integer' },
    example: { completed: 9950, failed: 12, queued: 38 },
    description: `Rows per status: ${BATCH_ITEM_STATUSES.join(', ')} (a row with a payout counts under the payout’s status).`,
  })
  counts!: Record<string, number>;

  @ApiProperty({ type: BatchProgressDto })
  progress!: BatchProgressDto;

  @ApiProperty({
    type: BatchApprovalDto,
    nullable: true,
    description:
      'Set when a payout policy’s approval rule caught a row: the whole batch waits (pending_approval, rows held) until approved once; its rows’ payouts then do not wait again.',
  })
  approval!: BatchApprovalDto | null;

  @ApiProperty({ example: 'ana@acme.example' })
  createdBy!: string;

  @ApiProperty({ type: String, format: 'date-time' })
  createdAt!: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  cancelledAt!: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  completedAt!: string | null;

  static from(batch: Batch, counts: Record<string, number>, decisions: readonly BatchDecision[] = []): BatchDto {
    const done = Object.entries(counts)
      .filter(([status]) => FINAL_ROW_STATUSES.has(status))
      .reduce((sum, [, count]) => sum + count, 0);
    return {
      id: batch.id,
      status: batch.status,
      source: batch.source,
      fileName: batch.fileName,
      itemCount: batch.itemCount,
      skippedCount: batch.skippedCount,
      skipped: batch.skipped,
      counts,
      progress: {
        done,
        total: batch.itemCount,
        percent: batch.itemCount ? Math.floor((done * 100) / batch.itemCount) : 100,
      },
      approval:
        batch.approvalsRequired > 0
          ? {
              required: batch.approvalsRequired,
              reasons: batch.approvalReasons,
              expiresAt: batch.approvalExpiresAt?.toISOString() ?? null,
              decisions: decisions.map((decision) => ({
                principal: decision.principal,
                decision: decision.decision,
                comment: decision.comment,
                decidedAt: decision.decidedAt.toISOString(),
              })),
            }
          : null,
      createdBy: batch.createdByPrincipal,
      createdAt: batch.createdAt.toISOString(),
      cancelledAt: batch.cancelledAt?.toISOString() ?? null,
      completedAt: batch.completedAt?.toISOString() ?? null,
    };
  }
}

export class CancelledBatchDto extends BatchDto {
  @ApiProperty({ type: 'integer', description: 'Rows this request stopped (0 when the batch was cancelled before).' })
  cancelledRows!: number;
}

export class ListBatchItemsQueryDto extends CursorPageQueryDto {
  @ApiPropertyOptional({ enum: BATCH_ITEM_STATUSES })
  @IsOptional()
  @IsIn(BATCH_ITEM_STATUSES)
  status?: BatchItemStatus;
}

export class BatchItemErrorDto {
  @ApiProperty({ example: 'PAYOUT_LIMIT_PER_PAYOUT' })
  code!: string;

  @ApiProperty()
  message!: string;
}

export class BatchItemFailureDto {
  @ApiProperty({ type: String, nullable: true, example: '800' })
  code!: string | null;

  @ApiProperty({ type: String, nullable: true })
  reason!: string | null;
}

export class BatchItemMoneyDto {
  @ApiProperty({ example: '150.75' })
  amount!: string;

  @ApiProperty({ example: 'BRL' })
  currency!: string;
}

export class BatchItemDto {
  @ApiProperty({ type: 'integer' })
  row!: number;

  @ApiProperty()
  rowKey!: string;

  @ApiProperty({
    enum: BATCH_ITEM_STATUSES,
    description:
      'queued, sending, refused (see error) or cancelled before its payout exists; then its payout’s status.',
  })
  status!: string;

  @ApiProperty({ type: String, format: 'uuid', nullable: true })
  payoutId!: string | null;

  @ApiProperty()
  provider!: string;

  @ApiProperty()
  environment!: string;

  @ApiProperty({ type: BatchItemMoneyDto })
  amount!: BatchItemMoneyDto;

  @ApiProperty({ type: String, nullable: true })
  reference!: string | null;

  @ApiProperty({
    description: 'The beneficiary masked as in every answer, or {beneficiaryId} for a stored one.',
    oneOf: [
      ...MASKED_BENEFICIARY_MODELS.map((model) => ({ $ref: getSchemaPath(model) })),
      {
        type: 'object',
        properties: { beneficiaryId: { type: 'string', format: 'uuid' } },
        required: ['beneficiaryId'],
        additionalProperties: false,
      },
    ],
  })
  beneficiary!: Record<string, unknown>;

  @ApiProperty({
    type: BatchItemErrorDto,
    nullable: true,
    description: 'Why the row was refused, or why its last send attempt did not go through (it is tried again).',
  })
  error!: BatchItemErrorDto | null;

  @ApiProperty({ type: BatchItemFailureDto, nullable: true, description: 'The payout’s failure, once it failed.' })
  failure!: BatchItemFailureDto | null;

  @ApiProperty({ type: 'integer' })
  attempts!: number;

  @ApiProperty({ type: String, format: 'date-time' })
  updatedAt!: string;

  static from(item: BatchItem): BatchItemDto {
    return {
      row: item.row,
      rowKey: item.rowKey,
      status: item.status,
      payoutId: item.payoutId,
      provider: item.provider,
      environment: item.environment,
      amount: { amount: item.amount, currency: item.currency },
      reference: item.reference,
      beneficiary: item.beneficiary,
      error: item.error,
      failure: item.failure,
      attempts: item.attempts,
      updatedAt: item.updatedAt.toISOString(),
    };
  }
}

export class BatchItemPageDto {
  @ApiProperty({ type: BatchItemDto, isArray: true })
  items!: BatchItemDto[];

  @ApiProperty({ type: String, nullable: true, description: 'Pass as cursor for the next page; null on the last one.' })
  nextCursor!: string | null;
}
