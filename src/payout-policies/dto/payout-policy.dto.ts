import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';
import { ALL_ENVIRONMENTS, PROVIDERS } from '../../providers/provider-catalogue';
import type { PayoutPolicy } from '../../payouts/domain/payout-controls';

const DECIMAL = /^\d{1,13}(\.\d{1,6})?$/;
const DECIMAL_MESSAGE = 'must be a decimal string such as "1000.00"';
/** How many policies one PUT may hold: enough for every currency × provider × key an operator names, small enough to lock in one go. */
export const MAX_POLICIES = 200;
export const MAX_REQUIRED_APPROVALS = 5;

export class RollingLimitInputDto {
  @ApiPropertyOptional({ example: '50000.00', description: 'At most this much paid out in any 24 hours.' })
  @IsOptional()
  @IsString()
  @Matches(DECIMAL, { message: DECIMAL_MESSAGE })
  maxAmount?: string;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    example: 500,
    description: 'At most this many payouts in any 24 hours.',
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10_000_000)
  maxCount?: number;
}

export class ApprovalRuleInputDto {
  @ApiPropertyOptional({ example: '10000.00', description: 'Payouts of this amount or more need approval.' })
  @IsOptional()
  @IsString()
  @Matches(DECIMAL, { message: DECIMAL_MESSAGE })
  atOrAbove?: string;

  @ApiPropertyOptional({
    default: false,
    description:
      'A payout to an account that no earlier payout went to (failed, rejected and cancelled ones aside) needs approval.',
  })
  @IsOptional()
  @IsBoolean()
  firstPayoutToBeneficiary?: boolean;

  @ApiPropertyOptional({
    default: false,
    description: 'Every payout in the scope needs approval: e.g. a whole provider or environment.',
  })
  @IsOptional()
  @IsBoolean()
  everyPayout?: boolean;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: MAX_REQUIRED_APPROVALS,
    default: 1,
    description:
      'Distinct approvers needed (key owners other than the creator), N of however many hold payouts:approve.',
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_REQUIRED_APPROVALS)
  requiredApprovals?: number;
}

export class PayoutPolicyInputDto {
  @ApiProperty({ example: 'BRL', description: 'ISO 4217: the policy governs payouts in this currency.' })
  @IsString()
  @Matches(/^[A-Z]{3}$/, { message: 'must be an ISO 4217 currency code such as BRL' })
  currency!: string;

  @ApiPropertyOptional({ enum: PROVIDERS, description: 'Only payouts through this provider. Omit: any provider.' })
  @IsOptional()
  @IsIn(PROVIDERS)
  provider?: (typeof PROVIDERS)[number];

  @ApiPropertyOptional({ enum: ALL_ENVIRONMENTS, description: 'Only payouts in this environment. Omit: any.' })
  @IsOptional()
  @IsIn(ALL_ENVIRONMENTS)
  environment?: (typeof ALL_ENVIRONMENTS)[number];

  @ApiPropertyOptional({ format: 'uuid', description: 'Only payouts created with this API key. Omit: any key.' })
  @IsOptional()
  @IsUUID()
  apiKeyId?: string;

  @ApiPropertyOptional({ example: '5000.00', description: 'No single payout above this amount.' })
  @IsOptional()
  @IsString()
  @Matches(DECIMAL, { message: DECIMAL_MESSAGE })
  maxAmountPerPayout?: string;

  @ApiPropertyOptional({ type: RollingLimitInputDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => RollingLimitInputDto)
  rolling24h?: RollingLimitInputDto;

  @ApiPropertyOptional({ type: ApprovalRuleInputDto, description: 'When payouts in the scope wait for approval.' })
  @IsOptional()
  @ValidateNested()
  @Type(() => ApprovalRuleInputDto)
  approval?: ApprovalRuleInputDto;
}

export class PutPayoutPoliciesDto {
  @ApiProperty({
    type: [PayoutPolicyInputDto],
    maxItems: MAX_POLICIES,
    description: 'The whole set: policies not listed are removed. An empty list removes every policy.',
  })
  @IsArray()
  @ArrayMaxSize(MAX_POLICIES)
  @ValidateNested({ each: true })
  @Type(() => PayoutPolicyInputDto)
  policies!: PayoutPolicyInputDto[];
}

export class RollingLimitDto {
  @ApiProperty({ type: String, nullable: true, example: '50000.00' })
  maxAmount!: string | null;

  @ApiProperty({ type: 'integer', nullable: true, example: 500 })
  maxCount!: number | null;
}

export class ApprovalRuleDto {
  @ApiProperty({ type: String, nullable: true, example: '10000.00' })
  atOrAbove!: string | null;

  @ApiProperty()
  firstPayoutToBeneficiary!: boolean;

  @ApiProperty()
  everyPayout!: boolean;

  @ApiProperty({ type: 'integer', minimum: 1, maximum: MAX_REQUIRED_APPROVALS })
  requiredApprovals!: number;
}

export class PayoutPolicyDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ example: 'BRL' })
  currency!: string;

  @ApiProperty({ enum: PROVIDERS, nullable: true, description: 'null: any provider.' })
  provider!: string | null;

  @ApiProperty({ enum: ALL_ENVIRONMENTS, nullable: true, description: 'null: any environment.' })
  environment!: string | null;

  @ApiProperty({ type: String, format: 'uuid', nullable: true, description: 'null: any API key.' })
  apiKeyId!: string | null;

  @ApiProperty({ type: String, nullable: true, example: '5000.00' })
  maxAmountPerPayout!: string | null;

  @ApiProperty({ type: RollingLimitDto })
  rolling24h!: RollingLimitDto;

  @ApiProperty({ type: ApprovalRuleDto, nullable: true })
  approval!: ApprovalRuleDto | null;

  @ApiProperty({ type: String, format: 'date-time' })
  updatedAt!: string;

  @ApiProperty({ type: String, format: 'uuid', nullable: true })
  updatedByKeyId!: string | null;

  static from(policy: PayoutPolicy): PayoutPolicyDto {
    return {
      id: policy.id,
      currency: policy.scope.currency,
      provider: policy.scope.provider,
      environment: policy.scope.environment,
      apiKeyId: policy.scope.apiKeyId,
      maxAmountPerPayout: policy.maxAmountPerPayout,
      rolling24h: { maxAmount: policy.rolling24h.maxAmount, maxCount: policy.rolling24h.maxCount },
      approval: policy.approval && {
        atOrAbove: policy.approval.atOrAbove,
        firstPayoutToBeneficiary: policy.approval.firstPayoutToBeneficiary,
        everyPayout: policy.approval.everyPayout,
        requiredApprovals: policy.approval.requiredApprovals,
      },
      updatedAt: policy.updatedAt.toISOString(),
      updatedByKeyId: policy.updatedByKeyId,
    };
  }
}

export class PayoutPoliciesDto {
  @ApiProperty({ type: [PayoutPolicyDto] })
  policies!: PayoutPolicyDto[];
}
