import { ApiExtraModels, ApiProperty, ApiPropertyOptional, getSchemaPath, IntersectionType } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { CursorPageQueryDto } from '../../common/http/cursor-page-query.dto';
import { IsDate, IsIn, IsObject, IsOptional, IsString, IsUUID, Length, Matches, IsBoolean } from 'class-validator';
import { ALL_ENVIRONMENTS, PROVIDERS } from '../../credentials/domain/credential';
import { PROVIDER_DESCRIPTORS } from '../../providers/registered-providers';
import { PAYOUT_STATUSES, type MaskedBeneficiary, type PayoutView } from '../domain/payout';

export class MoneyDto {
  @ApiProperty({
    example: '150.75',
    description: "Decimal string with at most the currency's decimals (JPY 0, EUR 2, BHD 3). Never a number.",
  })
  amount!: string;

  @ApiProperty({ example: 'BRL', description: 'ISO 4217.' })
  currency!: string;
}

/** MaskedBeneficiary (domain/payout.ts) as answers show it: identifiers by their last characters only. */
export class MaskedLatamBankBeneficiaryDto {
  @ApiProperty({ enum: ['latam_bank_account'] })
  type!: 'latam_bank_account';

  @ApiProperty({ example: 'BR' })
  country!: string;

  @ApiProperty({ example: 'José' })
  name!: string;

  @ApiPropertyOptional({ example: '…8207' })
  documentId?: string;

  @ApiPropertyOptional({ type: 'integer', example: 341, description: 'The bank, wallet or kind of key paid.' })
  bankCode?: number;

  @ApiPropertyOptional({ example: '…6789' })
  bankAccount?: string;

  @ApiPropertyOptional({ example: '…4321', description: 'Only when paid to a phone (a PIX key or a wallet), masked.' })
  phone?: string;

  @ApiPropertyOptional({ example: '…com', description: 'Only when paid to an email key, masked.' })
  email?: string;
}

export class MaskedIbanBeneficiaryDto {
  @ApiProperty({ enum: ['iban'] })
  type!: 'iban';

  @ApiProperty({ example: 'Erika Mustermann' })
  name!: string;

  @ApiPropertyOptional({ example: '…3000' })
  iban?: string;

  @ApiPropertyOptional({ example: 'COBADEFFXXX' })
  bic?: string;
}

export class MaskedCardBeneficiaryDto {
  @ApiProperty({ enum: ['card'] })
  type!: 'card';

  @ApiPropertyOptional({ example: '…4242' })
  cardToken?: string;
}

const MASKED_BENEFICIARY_DTOS = {
  latam_bank_account: MaskedLatamBankBeneficiaryDto,
  iban: MaskedIbanBeneficiaryDto,
  card: MaskedCardBeneficiaryDto,
} satisfies Record<MaskedBeneficiary['type'], unknown>;

/** The schema of a masked beneficiary in an answer: one of the three, told apart by `type`. */
export const MASKED_BENEFICIARY_SCHEMA = {
  oneOf: Object.values(MASKED_BENEFICIARY_DTOS).map((dto) => ({ $ref: getSchemaPath(dto) })),
  discriminator: {
    propertyName: 'type',
    mapping: Object.fromEntries(
      Object.entries(MASKED_BENEFICIARY_DTOS).map(([type, dto]) => [type, getSchemaPath(dto)]),
    ),
  },
};
export const MASKED_BENEFICIARY_MODELS = Object.values(MASKED_BENEFICIARY_DTOS);

export const BENEFICIARY_DTOS = PROVIDER_DESCRIPTORS.map((descriptor) => descriptor.beneficiaryDto);

/** Per rail: which beneficiary each provider pays to, as its descriptor declares it. */
const RAILS_DESCRIPTION = PROVIDER_DESCRIPTORS.map(
  (descriptor) => `${descriptor.rail} (${descriptor.displayName})`,
).join(', ');
const ENVIRONMENTS_DESCRIPTION = PROVIDER_DESCRIPTORS.map(
  (descriptor) => `${descriptor.id}: ${descriptor.environments.join(', ')}`,
).join('; ');

@ApiExtraModels(...BENEFICIARY_DTOS)
export class CreatePayoutDto {
  @ApiProperty({ enum: PROVIDERS, example: PROVIDERS[PROVIDERS.length - 1] })
  @IsIn(PROVIDERS)
  provider!: (typeof PROVIDERS)[number];

  @ApiProperty({
    enum: ALL_ENVIRONMENTS,
    example: 'simulator',
    description: `One of the provider's environments (${ENVIRONMENTS_DESCRIPTION}).`,
  })
  @IsIn(ALL_ENVIRONMENTS)
  environment!: (typeof ALL_ENVIRONMENTS)[number];

  @ApiProperty({ example: '150.75', description: "Decimal string with at most the currency's decimals." })
  @IsString()
  @Matches(/^\d{1,15}(\.\d{1,6})?$/, { message: 'must be a positive decimal string such as "150.75" (not a number)' })
  amount!: string;

  @ApiProperty({ example: 'BRL', description: 'ISO 4217.' })
  @Matches(/^[A-Z]{3}$/, { message: 'must be an ISO 4217 code such as EUR' })
  currency!: string;

  @ApiPropertyOptional({
    description: `The account to pay, per rail: ${RAILS_DESCRIPTION}. Or send beneficiaryId instead.`,
    oneOf: BENEFICIARY_DTOS.map((dto) => ({ $ref: getSchemaPath(dto) })),
    example: {
      type: 'latam_bank_account',
      country: 'BR',
      name: 'José',
      lastName: 'Müller',
      documentId: '84932568207',
      documentType: 'CPF',
      bankCode: 1,
      bankAccount: '123456789',
      bankBranch: '0001',
      accountType: 'C',
    },
  })
  @IsOptional()
  @IsObject()
  beneficiary?: Record<string, unknown>;

  @ApiPropertyOptional({
    format: 'uuid',
    description:
      'A stored beneficiary (POST /v1/beneficiaries) instead of `beneficiary`: send exactly one of the two. It must be active and on the provider’s rail.',
  })
  @IsOptional()
  @IsUUID('4', { message: 'must be the id of a stored beneficiary (a UUID)' })
  beneficiaryId?: string;

  @ApiPropertyOptional({
    example: 'invoice-2026-0042',
    maxLength: 140,
    description:
      "Your reference, filterable here, and sent to the provider as the payout's free text (its comments, remittance information or description field, whichever it has), so it shows in the provider's records and the beneficiary's statement. Not a secret: do not put personal data in it.",
  })
  @IsOptional()
  @IsString()
  @Length(1, 140)
  reference?: string;

  @ApiPropertyOptional({
    example: { orderId: '42' },
    description: 'Up to 20 string values of at most 500 characters.',
    type: 'object',
    additionalProperties: { type: 'string' },
  })
  @IsOptional()
  @IsObject()
  metadata?: Record<string, unknown>;

  @ApiPropertyOptional({
    type: Boolean,
    description:
      'Create it parked at the provider (status on_hold): nothing is paid until POST /v1/payouts/{id}/release. Only where the provider can hold (capability payouts.hold), else 409 CAPABILITY_NOT_SUPPORTED and nothing is stored. Safer than a hold sent after the create, which can race the provider’s processing.',
  })
  @IsOptional()
  @IsBoolean()
  holdOnCreate?: boolean;
}

/** The list's filters; the export takes the same ones (without the page). */
export class PayoutFiltersQueryDto {
  @ApiPropertyOptional({ enum: PAYOUT_STATUSES })
  @IsOptional()
  @IsIn(PAYOUT_STATUSES)
  status?: (typeof PAYOUT_STATUSES)[number];

  @ApiPropertyOptional({ enum: PROVIDERS })
  @IsOptional()
  @IsIn(PROVIDERS)
  provider?: (typeof PROVIDERS)[number];

  @ApiPropertyOptional({ enum: ALL_ENVIRONMENTS })
  @IsOptional()
  @IsIn(ALL_ENVIRONMENTS)
  environment?: (typeof ALL_ENVIRONMENTS)[number];

  @ApiPropertyOptional({ type: String, format: 'date-time' })
  @IsOptional()
  @Type(() => Date)
  @IsDate({ message: 'must be an ISO 8601 date-time' })
  createdFrom?: Date;

  @ApiPropertyOptional({ type: String, format: 'date-time' })
  @IsOptional()
  @Type(() => Date)
  @IsDate({ message: 'must be an ISO 8601 date-time' })
  createdTo?: Date;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @Length(1, 140)
  reference?: string;
}

export class ListPayoutsQueryDto extends IntersectionType(PayoutFiltersQueryDto, CursorPageQueryDto) {}

export class PayoutFailureDto {
  @ApiProperty({
    nullable: true,
    type: String,
    example: 'ACCOUNT_CLOSED',
    description:
      'A stable code to branch on: the provider refusal or bank rejection it names (ACCOUNT_CLOSED, BANK_CODE_UNKNOWN, …; README "Why a payout failed"), or an error code such as PAYOUT_REJECTED or APPROVAL_EXPIRED.',
  })
  code!: string | null;

  @ApiProperty({
    nullable: true,
    type: String,
    example:
      'The bank rejected it: the bank account is closed (<provider> 801 ERROR_ACCOUNT_CLOSED). Ask the beneficiary for an open account, then send a new payout.',
    description: "What happened, with the provider's own code, and what to do next. For people; do not parse it.",
  })
  reason!: string | null;
}

export class ApprovalDecisionDto {
  @ApiPropertyOptional({ example: 'Checked against invoice 2026-118.', maxLength: 500 })
  @IsOptional()
  @IsString()
  @Length(1, 500)
  comment?: string;
}

export class PayoutApprovalDto {
  @ApiProperty({
    type: 'integer',
    minimum: 1,
    description: 'Distinct approvers (key owners other than the creator) it needs.',
  })
  required!: number;

  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'While pending_approval: when it is cancelled (APPROVAL_EXPIRED) unless approved.',
  })
  expiresAt!: string | null;
}

@ApiExtraModels(...MASKED_BENEFICIARY_MODELS)
export class PayoutDto {
  @ApiProperty({ format: 'uuid', description: "Our id; also the provider's external id." })
  id!: string;

  @ApiProperty({ enum: PROVIDERS })
  provider!: string;

  @ApiProperty({ enum: ALL_ENVIRONMENTS })
  environment!: string;

  @ApiProperty({
    enum: PAYOUT_STATUSES,
    description:
      "requested → submitted → pending → processing → completed | failed | rejected | cancelled; on_hold; unknown while the provider's answer is being recovered.",
  })
  status!: string;

  @ApiProperty({ type: MoneyDto })
  amount!: MoneyDto;

  @ApiProperty({
    description: 'The beneficiary with account numbers, documents and card tokens masked.',
    ...MASKED_BENEFICIARY_SCHEMA,
  })
  beneficiary!: MaskedBeneficiary;

  @ApiProperty({ type: String, nullable: true })
  reference!: string | null;

  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } })
  metadata!: Record<string, string>;

  @ApiProperty({ type: String, nullable: true, example: '8405147' })
  providerReference!: string | null;

  @ApiProperty({ type: String, nullable: true, example: 'COMPLETED' })
  providerStatus!: string | null;

  @ApiProperty({ type: PayoutFailureDto, nullable: true })
  failure!: PayoutFailureDto | null;

  @ApiProperty({ type: MoneyDto, nullable: true })
  fees!: MoneyDto | null;

  @ApiProperty({
    type: PayoutApprovalDto,
    nullable: true,
    description: 'Set when a payout policy’s approval rule caught the payout; null when it needed no approval.',
  })
  approval!: PayoutApprovalDto | null;

  @ApiProperty({ type: String, format: 'date-time' })
  createdAt!: string;

  @ApiProperty({ type: String, format: 'date-time' })
  updatedAt!: string;

  static from(payout: PayoutView): PayoutDto {
    return {
      id: payout.id,
      provider: payout.provider,
      environment: payout.environment,
      status: payout.status,
      amount: payout.amount,
      // Already the masked view (the full beneficiary is not on a Payout, only sealed).
      beneficiary: { ...payout.beneficiary },
      reference: payout.reference,
      metadata: payout.metadata,
      providerReference: payout.providerReference,
      providerStatus: payout.providerStatus,
      failure:
        payout.failureCode || payout.failureReason ? { code: payout.failureCode, reason: payout.failureReason } : null,
      fees: payout.fees,
      approval:
        payout.approvalsRequired > 0
          ? {
              required: payout.approvalsRequired,
              expiresAt:
                payout.status === 'pending_approval' ? (payout.approvalExpiresAt?.toISOString() ?? null) : null,
            }
          : null,
      createdAt: payout.createdAt.toISOString(),
      updatedAt: payout.updatedAt.toISOString(),
    };
  }
}

export class PayoutPageDto {
  @ApiProperty({ type: PayoutDto, isArray: true })
  items!: PayoutDto[];

  @ApiProperty({ type: String, nullable: true, description: 'Pass as cursor for the next page; null on the last one.' })
  nextCursor!: string | null;
}

export class PayoutEventDto {
  @ApiProperty()
  id!: string;

  @ApiProperty({ example: 'transition' })
  type!: string;

  @ApiProperty({ enum: PAYOUT_STATUSES, nullable: true })
  fromStatus!: string | null;

  @ApiProperty({ enum: PAYOUT_STATUSES, nullable: true })
  toStatus!: string | null;

  @ApiProperty({ type: 'object', additionalProperties: true })
  detail!: Record<string, unknown>;

  @ApiProperty({ type: String, format: 'date-time' })
  occurredAt!: string;
}
