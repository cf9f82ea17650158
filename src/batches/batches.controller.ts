import {
  Body,
  Controller,
  Get,
  Headers,
  HttpCode,
  Logger,
  Param,
  Post,
  Query,
  Req,
  Res,
  UseInterceptors,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiConflictResponse,
  ApiConsumes,
  ApiCreatedResponse,
  ApiExtraModels,
  ApiForbiddenResponse,
  ApiHeader,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiPayloadTooLargeResponse,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { CurrentPrincipal, RequireScopes } from '../common/auth/auth.decorators';
import type { Principal } from '../common/auth/scopes';
import { ErrorBodyDto } from '../common/errors/error-body.dto';
import { writeCsv } from '../common/http/csv-download';
import { decodeIntCursor, encodeIdCursor } from '../common/http/id-cursor';
import { uuidParam } from '../common/http/uuid-param.pipe';
import { ApprovalDecisionDto } from '../payouts/dto/payout.dto';
import { idempotencyKeyOf } from '../payouts/payout-input';
import { BatchIntakeLimit } from './batch-intake-limit';
import { BatchesService, type BatchOptions } from './batches.service';
import { BATCH_RESULT_COLUMNS, batchResultRow, BATCH_TEMPLATE_CSV } from './batch-files';
import { MAX_CSV_BYTES, readCsvUpload } from './csv-upload';
import {
  BatchDto,
  BatchItemDto,
  BatchItemPageDto,
  BatchReportDto,
  CancelledBatchDto,
  CreateBatchDto,
  ListBatchItemsQueryDto,
} from './dto/batch.dto';
import type { Batch } from './domain/batch';
import { MAX_BATCH_ROWS } from './domain/batch-rows';

const IDEMPOTENCY_HEADER = {
  name: 'Idempotency-Key',
  required: false,
  description:
    'Required unless dryRun. Unique per batch, per API key: the same key with the same rows answers the batch stored first (Idempotent-Replayed: true); with other rows, 422 IDEMPOTENCY_KEY_REUSED. ' +
    'Each row is sent with the key batch:<batchId>:<rowKey>.',
  example: 'payroll-2026-11',
};

const CREATED = {
  type: BatchDto,
  description:
    'The batch, stored with every row before any is sent; rows are sent in the background, BATCH_CONCURRENCY at a time per provider.',
};

const ROWS_INVALID = {
  type: ErrorBodyDto,
  description:
    'BATCH_ROWS_INVALID: details.problems lists every {row, field, code, message}; nothing was stored. IDEMPOTENCY_KEY_REUSED: the key was used for a batch of other rows.',
};

@ApiTags('Payout batches')
@ApiExtraModels(BatchReportDto, BatchDto)
@Controller('v1/payout-batches')
export class BatchesController {
  private readonly logger = new Logger('BatchesController');

  constructor(private readonly batches: BatchesService) {}

  @Post()
  @RequireScopes('payouts:write')
  @UseInterceptors(BatchIntakeLimit)
  @ApiOperation({
    summary: 'Send many payouts as one batch (JSON)',
    description:
      `Up to ${MAX_BATCH_ROWS} rows, each as POST /v1/payouts takes one. Every row is checked first: with dryRun, the report is answered and nothing is stored; ` +
      'otherwise a batch with an invalid row is refused whole (unless skipInvalid). Payout policies apply to each row as to any payout.',
  })
  @ApiHeader(IDEMPOTENCY_HEADER)
  @ApiOkResponse({ type: BatchReportDto, description: 'dryRun: the per-row report; nothing was stored.' })
  @ApiCreatedResponse(CREATED)
  @ApiBadRequestResponse({
    type: ErrorBodyDto,
    description: 'VALIDATION_FAILED: the body’s shape, or a missing Idempotency-Key.',
  })
  @ApiUnprocessableEntityResponse(ROWS_INVALID)
  async create(
    @Body() body: CreateBatchDto,
    @Headers('idempotency-key') idempotencyHeader: string | undefined,
    @CurrentPrincipal() principal: Principal,
    @Res({ passthrough: true }) response: Response,
  ): Promise<BatchDto | BatchReportDto> {
    return this.createFrom(
      body.items,
      { dryRun: body.dryRun ?? false, skipInvalid: body.skipInvalid ?? false },
      {
        source: 'json',
        fileName: null,
        idempotencyHeader,
        principal,
        response,
      },
    );
  }

  @Post('upload')
  @RequireScopes('payouts:write')
  @UseInterceptors(BatchIntakeLimit)
  @ApiOperation({
    summary: 'Send many payouts as one batch (CSV upload)',
    description:
      `A CSV (UTF-8, comma-separated, a header row; at most ${MAX_BATCH_ROWS} rows and ${MAX_CSV_BYTES / 1024 / 1024} MiB) in the multipart part "file". ` +
      'Columns: rowKey, provider, environment, amount, currency, reference, beneficiaryId, holdOnCreate (true or false), beneficiary.<field> and metadata.<key>; ' +
      'GET /v1/payout-batches/template.csv has them all with example rows. Empty cells are absent fields. Otherwise as the JSON batch.',
  })
  @ApiConsumes('multipart/form-data')
  @ApiBody({
    schema: {
      type: 'object',
      required: ['file'],
      properties: {
        file: { type: 'string', format: 'binary', description: 'The CSV.' },
        dryRun: {
          type: 'boolean',
          default: false,
          description: 'Check every row and answer the report; nothing is stored.',
        },
        skipInvalid: {
          type: 'boolean',
          default: false,
          description: 'Send the valid rows, leave the invalid ones out.',
        },
      },
    },
  })
  @ApiHeader(IDEMPOTENCY_HEADER)
  @ApiOkResponse({ type: BatchReportDto, description: 'dryRun: the per-row report; nothing was stored.' })
  @ApiCreatedResponse(CREATED)
  @ApiBadRequestResponse({
    type: ErrorBodyDto,
    description:
      'BATCH_FILE_UNREADABLE: not a CSV with the batch columns (details say where). VALIDATION_FAILED: a form field, or a missing Idempotency-Key.',
  })
  @ApiPayloadTooLargeResponse({ type: ErrorBodyDto, description: 'BATCH_TOO_LARGE: over 10,000 rows or 10 MiB.' })
  @ApiUnprocessableEntityResponse(ROWS_INVALID)
  async upload(
    @Req() request: Request,
    @Headers('idempotency-key') idempotencyHeader: string | undefined,
    @CurrentPrincipal() principal: Principal,
    @Res({ passthrough: true }) response: Response,
  ): Promise<BatchDto | BatchReportDto> {
    const upload = await readCsvUpload(request);
    return this.createFrom(upload.items, upload, {
      source: 'csv',
      fileName: upload.fileName,
      idempotencyHeader,
      principal,
      response,
    });
  }

  @Get('template.csv')
  @RequireScopes('payouts:read')
  @ApiOperation({
    summary: 'Download the batch CSV template',
    description:
      'The columns of a batch CSV with example rows: one per provider (its beneficiary inline, nested fields as dotted columns such as beneficiary.address.city), and one paying a stored beneficiary by id.',
  })
  @ApiOkResponse({ description: 'The template.', content: { 'text/csv': { schema: { type: 'string' } } } })
  template(@Res() response: Response): void {
    response.status(200);
    response.setHeader('Content-Type', 'text/csv; charset=utf-8');
    response.setHeader('Content-Disposition', 'attachment; filename="payout-batch-template.csv"');
    response.end(BATCH_TEMPLATE_CSV);
  }

  @Get(':id')
  @RequireScopes('payouts:read')
  @ApiOperation({
    summary: 'Get a batch',
    description:
      'Its rows counted per status, and its progress. While the batch is processing, the counts may be up to a second old (they are read at most once a second, however often it is polled); once it is completed or cancelled they are exact.',
  })
  @ApiOkResponse({ type: BatchDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  async get(@Param('id', uuidParam()) id: string): Promise<BatchDto> {
    const { batch, counts, decisions } = await this.batches.get(id);
    return BatchDto.from(batch, counts, decisions);
  }

  @Get(':id/items')
  @RequireScopes('payouts:read')
  @ApiOperation({ summary: 'List a batch’s rows', description: 'In row order, by status, with cursor pagination.' })
  @ApiOkResponse({ type: BatchItemPageDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  async items(@Param('id', uuidParam()) id: string, @Query() query: ListBatchItemsQueryDto): Promise<BatchItemPageDto> {
    const limit = query.limit ?? 20;
    const page = await this.batches.items(id, {
      status: query.status,
      afterRow: query.cursor ? decodeIntCursor('r', query.cursor) : undefined,
      limit,
    });
    const last = page.items[page.items.length - 1];
    return {
      items: page.items.map((item) => BatchItemDto.from(item)),
      nextCursor: page.more && last ? encodeIdCursor('r', String(last.row)) : null,
    };
  }

  @Get(':id/results.csv')
  @RequireScopes('payouts:read')
  @ApiOperation({
    summary: 'Download a batch’s results as CSV',
    description:
      `Every row in row order with its status, payout id, failure or refusal, streamed. Columns: ${BATCH_RESULT_COLUMNS.join(', ')}. ` +
      'UTF-8 with a byte-order mark, CRLF line ends; formula-like cells start with an apostrophe; accounts masked.',
  })
  @ApiOkResponse({ description: 'The CSV file.', content: { 'text/csv': { schema: { type: 'string' } } } })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  async results(@Param('id', uuidParam()) id: string, @Res() response: Response): Promise<void> {
    const { items } = await this.batches.results(id);
    try {
      await writeCsv(items, batchResultRow, BATCH_RESULT_COLUMNS, response, () => {
        response.status(200);
        response.setHeader('Content-Type', 'text/csv; charset=utf-8');
        response.setHeader('Content-Disposition', `attachment; filename="payout-batch-${id}-results.csv"`);
      });
    } catch (error) {
      if (!response.headersSent) throw error;
      if ((error as { code?: string }).code !== 'ERR_STREAM_PREMATURE_CLOSE')
        this.logger.warn({ error: error instanceof Error ? error.message : String(error) }, 'batch results broke off');
    }
  }

  @Post(':id/approve')
  @HttpCode(200)
  @RequireScopes('payouts:approve')
  @ApiOperation({
    summary: 'Approve a batch waiting for approval',
    description:
      'One approval by the calling key’s owner, who must not be the batch’s creator. With as many distinct approvers as the batch needs, its rows are sent; ' +
      'their payouts do not wait for approval again one by one (each row still meets the policies’ limits when it is sent). Approving again as the same owner changes nothing.',
  })
  @ApiOkResponse({ type: BatchDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  @ApiForbiddenResponse({
    type: ErrorBodyDto,
    description: 'APPROVER_IS_CREATOR, APPROVER_WITHOUT_OWNER, or FORBIDDEN_SCOPE without payouts:approve.',
  })
  @ApiConflictResponse({
    type: ErrorBodyDto,
    description:
      'BATCH_NOT_PENDING_APPROVAL; APPROVAL_EXPIRED: its deadline passed, it is now cancelled and nothing was sent.',
  })
  async approve(
    @Param('id', uuidParam()) id: string,
    @Body() body: ApprovalDecisionDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<BatchDto> {
    return this.render(await this.batches.approve(id, principal, body.comment ?? null));
  }

  @Post(':id/reject')
  @HttpCode(200)
  @RequireScopes('payouts:approve')
  @ApiOperation({
    summary: 'Reject a batch waiting for approval',
    description:
      'The batch is cancelled and none of its rows is ever sent. Rejecting again as the same owner answers it as it is.',
  })
  @ApiOkResponse({ type: BatchDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  @ApiForbiddenResponse({
    type: ErrorBodyDto,
    description: 'APPROVER_IS_CREATOR, APPROVER_WITHOUT_OWNER, or FORBIDDEN_SCOPE without payouts:approve.',
  })
  @ApiConflictResponse({
    type: ErrorBodyDto,
    description: 'BATCH_NOT_PENDING_APPROVAL; APPROVAL_EXPIRED: its deadline passed, it is now cancelled.',
  })
  async reject(
    @Param('id', uuidParam()) id: string,
    @Body() body: ApprovalDecisionDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<BatchDto> {
    return this.render(await this.batches.reject(id, principal, body.comment ?? null));
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @RequireScopes('payouts:write')
  @ApiOperation({
    summary: 'Cancel the rows of a batch not yet sent',
    description:
      'Rows still queued become cancelled and are never sent; rows being sent finish; sent rows follow their payouts (cancel a payout itself with POST /v1/payouts/{id}/cancel). Idempotent while the batch is processing.',
  })
  @ApiOkResponse({ type: CancelledBatchDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  @ApiConflictResponse({ type: ErrorBodyDto, description: 'BATCH_FINISHED: the batch completed or was cancelled.' })
  async cancel(
    @Param('id', uuidParam()) id: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<CancelledBatchDto> {
    const { batch, counts, cancelledRows } = await this.batches.cancel(id, principal);
    return { ...BatchDto.from(batch, counts), cancelledRows };
  }

  private async createFrom(
    items: Array<Record<string, unknown>>,
    flags: { dryRun: boolean; skipInvalid: boolean },
    context: {
      source: BatchOptions['source'];
      fileName: string | null;
      idempotencyHeader: string | undefined;
      principal: Principal;
      response: Response;
    },
  ): Promise<BatchDto | BatchReportDto> {
    if (flags.dryRun) {
      context.response.status(200);
      return BatchReportDto.from(await this.batches.check(items));
    }
    const key = idempotencyKeyOf(context.idempotencyHeader);
    const { batch, replayed } = await this.batches.create(
      items,
      { skipInvalid: flags.skipInvalid, source: context.source, fileName: context.fileName },
      { apiKeyId: context.principal.keyId, key },
      context.principal.principal,
    );
    context.response.status(201);
    if (replayed) context.response.setHeader('Idempotent-Replayed', 'true');
    return this.render(batch);
  }

  /** The batch as answered: with its row counts and, when it needed approval, its decisions. */
  private async render(batch: Batch): Promise<BatchDto> {
    const view = await this.batches.view(batch);
    return BatchDto.from(view.batch, view.counts, view.decisions);
  }
}
