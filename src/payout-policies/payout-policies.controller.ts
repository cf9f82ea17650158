import { Body, Controller, Get, Put } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, RequireScopes } from '../common/auth/auth.decorators';
import type { Principal } from '../common/auth/scopes';
import { PayoutPoliciesDto, PayoutPolicyDto, PutPayoutPoliciesDto } from './dto/payout-policy.dto';
import { PayoutPoliciesService } from './payout-policies.service';

@ApiTags('Payout policies')
@Controller('v1/payout-policies')
export class PayoutPoliciesController {
  constructor(private readonly policies: PayoutPoliciesService) {}

  @Get()
  @RequireScopes('policies:read')
  @ApiOperation({
    summary: 'List the payout policies',
    description:
      'Every policy: its scope (currency, and optionally provider, environment, API key), limits and approval rule.',
  })
  @ApiOkResponse({ type: PayoutPoliciesDto })
  async list(): Promise<PayoutPoliciesDto> {
    return { policies: (await this.policies.list()).map((policy) => PayoutPolicyDto.from(policy)) };
  }

  @Put()
  @RequireScopes('policies:write')
  @ApiOperation({
    summary: 'Replace the payout policies',
    description:
      'The whole set at once; all or nothing. A payout must pass every policy whose scope it falls in. ' +
      'Limits are enforced atomically in PostgreSQL (concurrent payouts cannot pass a rolling limit together); ' +
      'breaking one is a 422 naming the limit and the headroom left. Payouts an approval rule catches wait in ' +
      'pending_approval. Changes apply to payouts created after the answer; payouts already made are not touched.',
  })
  @ApiOkResponse({ type: PayoutPoliciesDto })
  async replace(
    @Body() body: PutPayoutPoliciesDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<PayoutPoliciesDto> {
    const policies = await this.policies.replace(body.policies, {
      keyId: principal.keyId,
      principal: principal.principal,
    });
    return { policies: policies.map((policy) => PayoutPolicyDto.from(policy)) };
  }
}
