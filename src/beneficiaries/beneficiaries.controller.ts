import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiConflictResponse, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, RequireScopes } from '../common/auth/auth.decorators';
import type { Principal } from '../common/auth/scopes';
import { ApiError } from '../common/errors/api-error';
import { ErrorBodyDto } from '../common/errors/error-body.dto';
import { uuidParam } from '../common/http/uuid-param.pipe';
import { checkBeneficiary } from '../payouts/beneficiary/beneficiary-input';
import { BeneficiariesService } from './beneficiaries.service';
import {
  BeneficiaryDto,
  BeneficiaryPageDto,
  CreateBeneficiaryDto,
  ListBeneficiariesQueryDto,
} from './dto/beneficiary.dto';

@ApiTags('Beneficiaries')
@Controller('v1/beneficiaries')
export class BeneficiariesController {
  constructor(private readonly beneficiaries: BeneficiariesService) {}

  @Post()
  @RequireScopes('beneficiaries:write')
  @ApiOperation({
    summary: 'Store a beneficiary',
    description:
      'Checked like a payout’s inline beneficiary (document and account check digits per country, IBAN and BIC, no card number), ' +
      'sealed at rest like a credential, answered masked. Pay it with `beneficiaryId` on POST /v1/payouts.',
  })
  @ApiCreatedResponse({ type: BeneficiaryDto })
  @ApiConflictResponse({
    type: ErrorBodyDto,
    description:
      'BENEFICIARY_DUPLICATE: this account is already stored and active on the rail (`details.beneficiaryId`).',
  })
  async create(@Body() body: CreateBeneficiaryDto, @CurrentPrincipal() principal: Principal): Promise<BeneficiaryDto> {
    const checked = checkBeneficiary(body.beneficiary, 'beneficiary');
    const problems = [...checked.problems, ...checked.numberProblems];
    if (!checked.beneficiary || problems.length > 0) throw ApiError.validation(problems);
    return BeneficiaryDto.from(
      await this.beneficiaries.create(checked.beneficiary, body.label ?? null, {
        keyId: principal.keyId,
        principal: principal.principal,
      }),
    );
  }

  @Get()
  @RequireScopes('beneficiaries:read')
  @ApiOperation({
    summary: 'List beneficiaries',
    description: 'Newest first, filtered by rail and status, with cursor pagination.',
  })
  @ApiOkResponse({ type: BeneficiaryPageDto })
  async list(@Query() query: ListBeneficiariesQueryDto): Promise<BeneficiaryPageDto> {
    const page = await this.beneficiaries.list({ ...query, limit: query.limit ?? 20 });
    return { items: page.items.map((beneficiary) => BeneficiaryDto.from(beneficiary)), nextCursor: page.nextCursor };
  }

  @Get(':id')
  @RequireScopes('beneficiaries:read')
  @ApiOperation({ summary: 'Get a beneficiary', description: 'Masked: identifiers by their last characters only.' })
  @ApiOkResponse({ type: BeneficiaryDto })
  async get(@Param('id', uuidParam()) id: string): Promise<BeneficiaryDto> {
    return BeneficiaryDto.from(await this.beneficiaries.get(id));
  }

  @Post(':id/disable')
  @HttpCode(200)
  @RequireScopes('beneficiaries:write')
  @ApiOperation({
    summary: 'Disable a beneficiary',
    description:
      'It can no longer be paid (409 BENEFICIARY_DISABLED); payouts already made are not touched. Idempotent. The same account can then be stored again.',
  })
  @ApiOkResponse({ type: BeneficiaryDto })
  async disable(
    @Param('id', uuidParam()) id: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<BeneficiaryDto> {
    return BeneficiaryDto.from(
      await this.beneficiaries.disable(id, { keyId: principal.keyId, principal: principal.principal }),
    );
  }
}
