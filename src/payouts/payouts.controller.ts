import {
  Body,
  Controller,
  Get,
  Headers,
  HttpCode,
  HttpStatus,
  Injectable,
  Logger,
  Param,
  Post,
  Query,
  Res,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiHeader,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { CurrentPrincipal, RequireScopes } from '../common/auth/auth.decorators';
import type { Principal } from '../common/auth/scopes';
import { ApiProviderErrors } from '../common/errors/api-error-responses';
import { ErrorBodyDto } from '../common/errors/error-body.dto';
import { uuidParam } from '../common/http/uuid-param.pipe';
import { CreatedPayoutAnswer, IDEMPOTENCY_KEY_RETENTION_HOURS, StoredAnswer } from './domain/idempotency';
import type { Payout } from './domain/payout';
import {
  ApprovalDecisionDto,
  CreatePayoutDto,
  ListPayoutsQueryDto,
  PayoutDto,
  PayoutEventDto,
  PayoutFiltersQueryDto,
  PayoutPageDto,
} from './dto/payout.dto';
import { EXPORT_COLUMNS, writePayoutsCsv } from './payouts-export';
import { PayoutApprovals } from './payout-approvals';
import { payoutIdempotencyKeyOf, toNewPayout } from './payout-input';
import { PayoutsService } from './payouts.service';

const Unsupported = () =>
  ApiConflictResponse({
    type: ErrorBodyDto,
    description:
      'CAPABILITY_NOT_SUPPORTED (details.capability: payouts.cancel or payouts.hold) for that provider, PAYOUT_FINAL, INVALID_TRANSITION from the provider, ' +
      'PAYOUT_PENDING_APPROVAL (hold and release of a payout not sent yet), or CONFLICT (a cancel of a payout that was approved meanwhile: look at it again).',
  });

/** The audit trail's actor for the calling key. */
function actorOf(principal: Principal): { keyId: string; principal: string } {
  return { keyId: principal.keyId, principal: principal.principal };
}

/**
 * A created payout is answered 201 with its DTO. The same rendering is stored with the
 * Idempotency-Key (in the transaction of the payout's outcome) and replayed as stored.
 */
@Injectable()
export class HttpCreatedPayoutAnswer extends CreatedPayoutAnswer {
  render(payout: Payout): StoredAnswer {
    return { status: HttpStatus.CREATED, body: PayoutDto.from(payout) };
  }
}

@ApiTags('Payouts')
@Controller('v1/payouts')
export class PayoutsController {
  private readonly logger = new Logger('PayoutsExport');

  constructor(
    private readonly payouts: PayoutsService,
    private readonly createdAnswer: CreatedPayoutAnswer,
    private readonly approvals: PayoutApprovals,
  ) {}

  @Post()
  @RequireScopes('payouts:write')
  @ApiOperation({
    summary: 'Create a payout',
    description:
      "The provider environment must be ready to take it (configured, with its credentials in service), else 409 and nothing is stored. The payout is stored before the provider is called, with its id as the provider's external id. The same Idempotency-Key with the same body always gets the same answer; with another body, 422 IDEMPOTENCY_KEY_REUSED; concurrent requests with one key make one provider call.",
  })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: true,
    description: `Unique per payout, e.g. a UUID; per API key. Kept ${IDEMPOTENCY_KEY_RETENTION_HOURS} h: a retry within that time gets the first answer. Keys beginning with "batch:" are reserved for batch rows (400, code RESERVED).`,
    example: 'c6a2b8d4-5e1f-4a3b-9c7d-2e8f1a6b4c90',
  })
  @ApiCreatedResponse({
    type: PayoutDto,
    description:
      'The payout and where it stands (pending, failed, unknown …); pending_approval when a policy’s approval rule caught it: nothing is sent until it is approved.',
  })
  @ApiBadRequestResponse({
    type: ErrorBodyDto,
    description:
      'VALIDATION_FAILED with every bad field (amount precision, currency, beneficiary for the rail and its check digits, beneficiary and beneficiaryId both or neither, Idempotency-Key).',
  })
  @ApiUnprocessableEntityResponse({
    type: ErrorBodyDto,
    description:
      'IDEMPOTENCY_KEY_REUSED; BENEFICIARY_NOT_FOUND (no stored beneficiary has that beneficiaryId); ' +
      'PAYOUT_LIMIT_PER_PAYOUT, PAYOUT_LIMIT_ROLLING_AMOUNT or PAYOUT_LIMIT_ROLLING_COUNT: a payout policy’s limit (details: limit, policyId, max, used, headroom, currency); nothing was stored and the key is not used.',
  })
  @ApiConflictResponse({
    type: ErrorBodyDto,
    description:
      'IDEMPOTENCY_KEY_IN_PROGRESS: the first request with this key is still running (send it again after Retry-After). ' +
      'PROVIDER_NOT_CONFIGURED, CREDENTIAL_MISSING, CREDENTIAL_EXPIRED, CREDENTIAL_REVOKED or OAUTH_AUTHORIZATION_REQUIRED (details.provider, details.environment): ' +
      'the provider environment cannot take a payout now; nothing was stored and the key is not used, so send the same request again once it is fixed. ' +
      'BENEFICIARY_DISABLED: the stored beneficiary was disabled. ' +
      'CAPABILITY_NOT_SUPPORTED (details.capability: payouts.create).',
  })
  async create(
    @Body() body: CreatePayoutDto,
    @Headers('idempotency-key') idempotencyHeader: string | undefined,
    @CurrentPrincipal() principal: Principal,
    @Res({ passthrough: true }) response: Response,
  ): Promise<unknown> {
    const key = payoutIdempotencyKeyOf(idempotencyHeader);
    const { payout, refusedUnlessReplayed } = toNewPayout(body);
    const result = await this.payouts.create(
      payout,
      { apiKeyId: principal.keyId, key },
      { refusedUnlessReplayed, principal: principal.principal },
    );
    // A replay answers exactly what the first request was answered (as stored then).
    const answer = result.outcome === 'replayed' ? result.answer : this.createdAnswer.render(result.payout);
    response.status(answer.status);
    return answer.body;
  }

  @Get()
  @RequireScopes('payouts:read')
  @ApiOperation({ summary: 'List payouts', description: 'Newest first, filtered, with cursor pagination.' })
  @ApiOkResponse({ type: PayoutPageDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto })
  async list(@Query() query: ListPayoutsQueryDto): Promise<PayoutPageDto> {
    const page = await this.payouts.list({ ...query, limit: query.limit ?? 20 });
    return { items: page.items.map((payout) => PayoutDto.from(payout)), nextCursor: page.nextCursor };
  }

  @Get('export.csv')
  @RequireScopes('payouts:read')
  @ApiOperation({
    summary: 'Export payouts as CSV',
    description:
      'Every payout matching the list’s filters, newest first, streamed (any number of rows, flat memory). ' +
      `Columns: ${EXPORT_COLUMNS.join(', ')}. UTF-8 with a byte-order mark and CRLF line ends (RFC 4180), for spreadsheets. ` +
      'Amounts are decimal strings; accounts, documents and card tokens are masked as in every answer; a cell that a spreadsheet would run as a formula starts with an apostrophe. ' +
      'A transfer that breaks off midway is a broken download (the connection is reset), never a shorter file.',
  })
  @ApiOkResponse({
    description: 'The CSV file.',
    content: { 'text/csv': { schema: { type: 'string' } } },
  })
  async export(@Query() query: PayoutFiltersQueryDto, @Res() response: Response): Promise<void> {
    const fileName = `payouts-${new Date().toISOString().replace(/[:.]/g, '-')}.csv`;
    try {
      await writePayoutsCsv(this.payouts.exportAll(query), response, () => {
        response.status(200);
        response.setHeader('Content-Type', 'text/csv; charset=utf-8');
        response.setHeader('Content-Disposition', `attachment; filename="${fileName}"`);
      });
    } catch (error) {
      // Before the first byte: an ordinary error answer. After it: the response is already
      // destroyed (a broken download); a client that went away is not an error of ours.
      if (!response.headersSent) throw error;
      if ((error as { code?: string }).code !== 'ERR_STREAM_PREMATURE_CLOSE') {
        this.logger.warn({ error: error instanceof Error ? error.message : String(error) }, 'payout export broke off');
      }
    }
  }

  @Get(':id')
  @RequireScopes('payouts:read')
  @ApiOperation({
    summary: 'Get a payout',
    description:
      'Where the payout stands, as last learnt from the provider (this does not call the provider; see sync).',
  })
  @ApiOkResponse({ type: PayoutDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  async get(@Param('id', uuidParam()) id: string): Promise<PayoutDto> {
    return PayoutDto.from(await this.payouts.get(id));
  }

  @Get(':id/events')
  @RequireScopes('payouts:read')
  @ApiOperation({
    summary: "A payout's history",
    description: 'Every transition and provider exchange, append-only; account numbers masked.',
  })
  @ApiOkResponse({ type: PayoutEventDto, isArray: true })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  async events(@Param('id', uuidParam()) id: string): Promise<PayoutEventDto[]> {
    return (await this.payouts.events(id)).map((e) => ({
      id: e.id,
      type: e.type,
      fromStatus: e.fromStatus,
      toStatus: e.toStatus,
      detail: e.detail,
      occurredAt: e.occurredAt.toISOString(),
    }));
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @RequireScopes('payouts:write')
  @ApiOperation({
    summary: 'Cancel a payout (where the provider supports it)',
    description:
      'Asks the provider to cancel and answers the payout as it then stands. A payout in a final state cannot be cancelled (PAYOUT_FINAL). ' +
      'A payout waiting for approval is cancelled here without asking any provider (failure code CANCELLED_BEFORE_APPROVAL).',
  })
  @ApiOkResponse({ type: PayoutDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  @Unsupported()
  @ApiProviderErrors()
  async cancel(@Param('id', uuidParam()) id: string, @CurrentPrincipal() principal: Principal): Promise<PayoutDto> {
    return PayoutDto.from(await this.payouts.operate(id, 'cancel', actorOf(principal)));
  }

  @Post(':id/approve')
  @HttpCode(200)
  @RequireScopes('payouts:approve')
  @ApiOperation({
    summary: 'Approve a payout waiting for approval',
    description:
      'One approval by the calling key’s owner, who must not be the payout’s creator. Once the payout has as many distinct approvers as its policy requires, ' +
      'it is sent, and the answer is the payout after sending (pending, completed, failed …); until then it stays pending_approval. ' +
      'Approving again as the same owner changes nothing. The approval that sends it checks the payout policies’ limits again, as for a new payout ' +
      '(it counts against them from then on): a breach is 422 and the approval is not recorded; the payout keeps waiting.',
  })
  @ApiOkResponse({ type: PayoutDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  @ApiForbiddenResponse({
    type: ErrorBodyDto,
    description:
      'APPROVER_IS_CREATOR: the calling key’s owner created the payout. APPROVER_WITHOUT_OWNER: the key has no owner. FORBIDDEN_SCOPE without payouts:approve.',
  })
  @ApiUnprocessableEntityResponse({
    type: ErrorBodyDto,
    description:
      'PAYOUT_LIMIT_PER_PAYOUT, PAYOUT_LIMIT_ROLLING_AMOUNT or PAYOUT_LIMIT_ROLLING_COUNT: sending it now would break a payout policy’s limit (details as on create).',
  })
  @ApiConflictResponse({
    type: ErrorBodyDto,
    description:
      'PAYOUT_NOT_PENDING_APPROVAL: it was sent, rejected, cancelled or never needed approval. APPROVAL_EXPIRED: its deadline passed; it is now cancelled.',
  })
  @ApiProviderErrors()
  async approve(
    @Param('id', uuidParam()) id: string,
    @Body() body: ApprovalDecisionDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<PayoutDto> {
    return PayoutDto.from(await this.approvals.approve(id, principal, body.comment ?? null));
  }

  @Post(':id/reject')
  @HttpCode(200)
  @RequireScopes('payouts:approve')
  @ApiOperation({
    summary: 'Reject a payout waiting for approval',
    description:
      'Cancels it (failure code APPROVAL_REJECTED); it is never sent. Rejecting again as the same owner answers it as it is.',
  })
  @ApiOkResponse({ type: PayoutDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  @ApiConflictResponse({
    type: ErrorBodyDto,
    description:
      'PAYOUT_NOT_PENDING_APPROVAL: it was sent, cancelled or never needed approval. APPROVAL_EXPIRED: its deadline passed; it is now cancelled.',
  })
  async reject(
    @Param('id', uuidParam()) id: string,
    @Body() body: ApprovalDecisionDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<PayoutDto> {
    return PayoutDto.from(await this.approvals.reject(id, principal, body.comment ?? null));
  }

  @Post(':id/hold')
  @HttpCode(200)
  @RequireScopes('payouts:write')
  @ApiOperation({
    summary: 'Put a payout on hold (where the provider supports it)',
    description: 'Asks the provider to hold the payout; release it later, or cancel it.',
  })
  @ApiOkResponse({ type: PayoutDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  @Unsupported()
  @ApiProviderErrors()
  async hold(@Param('id', uuidParam()) id: string, @CurrentPrincipal() principal: Principal): Promise<PayoutDto> {
    return PayoutDto.from(await this.payouts.operate(id, 'hold', actorOf(principal)));
  }

  @Post(':id/release')
  @HttpCode(200)
  @RequireScopes('payouts:write')
  @ApiOperation({
    summary: 'Release a payout from hold',
    description: 'Asks the provider to go on with a held payout.',
  })
  @ApiOkResponse({ type: PayoutDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  @Unsupported()
  @ApiProviderErrors()
  async release(@Param('id', uuidParam()) id: string, @CurrentPrincipal() principal: Principal): Promise<PayoutDto> {
    return PayoutDto.from(await this.payouts.operate(id, 'release', actorOf(principal)));
  }

  @Post(':id/sync')
  @HttpCode(200)
  @RequireScopes('payouts:write')
  @ApiOperation({
    summary: 'Fetch the status from the provider now',
    description:
      'Asks the provider for the status at once instead of waiting for its notification or the reconciler, and answers the payout as it then stands.',
  })
  @ApiOkResponse({ type: PayoutDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  @ApiConflictResponse({
    type: ErrorBodyDto,
    description:
      'CREDENTIAL_MISSING, CREDENTIAL_EXPIRED, CREDENTIAL_REVOKED or OAUTH_AUTHORIZATION_REQUIRED: the status cannot be fetched until the credential is fixed.',
  })
  @ApiProviderErrors()
  async sync(@Param('id', uuidParam()) id: string): Promise<PayoutDto> {
    return PayoutDto.from(await this.payouts.operate(id, 'sync'));
  }
}
