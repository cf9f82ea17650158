import { ApiExtraModels, ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';
import { CursorPageQueryDto } from '../../common/http/cursor-page-query.dto';
import { IsIn, IsObject, IsOptional, IsString, Length } from 'class-validator';
import type { MaskedBeneficiary } from '../../payouts/domain/payout';
import { BENEFICIARY_DTOS, MASKED_BENEFICIARY_MODELS, MASKED_BENEFICIARY_SCHEMA } from '../../payouts/dto/payout.dto';
import { RAILS } from '../../payouts/beneficiary/beneficiary-input';
import { BENEFICIARY_STATUSES, type StoredBeneficiary } from '../domain/beneficiary';

@ApiExtraModels(...BENEFICIARY_DTOS)
export class CreateBeneficiaryDto {
  @ApiProperty({
    description:
      'The account, per rail, with the same rules as a payout’s inline beneficiary (document and account check digits, IBAN, no card number).',
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
  @IsObject()
  beneficiary!: Record<string, unknown>;

  @ApiPropertyOptional({ example: 'José – supplier 42', description: 'Your own name for it, shown in lists.' })
  @IsOptional()
  @IsString()
  @Length(1, 100)
  label?: string;
}

@ApiExtraModels(...MASKED_BENEFICIARY_MODELS)
export class BeneficiaryDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ enum: RAILS })
  rail!: string;

  @ApiProperty({ type: String, nullable: true })
  label!: string | null;

  @ApiProperty({
    description: 'The account, masked: identifiers by their last characters only.',
    ...MASKED_BENEFICIARY_SCHEMA,
  })
  beneficiary!: MaskedBeneficiary;

  @ApiProperty({
    enum: BENEFICIARY_STATUSES,
    description: 'A disabled beneficiary cannot be paid; payouts already made stay.',
  })
  status!: string;

  @ApiProperty({ type: String, format: 'date-time' })
  createdAt!: string;

  @ApiProperty({ type: String, format: 'uuid', nullable: true, description: 'The API key that stored it.' })
  createdByKeyId!: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  disabledAt!: string | null;

  @ApiProperty({ type: String, format: 'uuid', nullable: true, description: 'The API key that disabled it.' })
  disabledByKeyId!: string | null;

  static from(beneficiary: StoredBeneficiary): BeneficiaryDto {
    return {
      id: beneficiary.id,
      rail: beneficiary.rail,
      label: beneficiary.label,
      beneficiary: beneficiary.masked,
      status: beneficiary.status,
      createdAt: beneficiary.createdAt.toISOString(),
      createdByKeyId: beneficiary.createdByKeyId,
      disabledAt: beneficiary.disabledAt?.toISOString() ?? null,
      disabledByKeyId: beneficiary.disabledByKeyId,
    };
  }
}

export class BeneficiaryPageDto {
  @ApiProperty({ type: BeneficiaryDto, isArray: true })
  items!: BeneficiaryDto[];

  @ApiProperty({ type: String, nullable: true, description: 'Pass as cursor for the next page; null on the last one.' })
  nextCursor!: string | null;
}

export class ListBeneficiariesQueryDto extends CursorPageQueryDto {
  @ApiPropertyOptional({ enum: RAILS })
  @IsOptional()
  @IsIn(RAILS)
  rail?: StoredBeneficiary['rail'];

  @ApiPropertyOptional({ enum: BENEFICIARY_STATUSES })
  @IsOptional()
  @IsIn(BENEFICIARY_STATUSES)
  status?: StoredBeneficiary['status'];
}
