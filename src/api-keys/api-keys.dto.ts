import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayNotEmpty,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsDate,
  IsIn,
  IsOptional,
  IsString,
  Length,
  Matches,
} from 'class-validator';
import { Scope, SCOPES } from '../common/auth/scopes';
import { ApiKey, isActive, maskedKey } from './api-key';

export class CreateApiKeyDto {
  @ApiProperty({ description: 'Who or what uses the key.', example: 'payouts-frontend', minLength: 1, maxLength: 100 })
  @IsString()
  @Length(1, 100)
  @Matches(/\S/, { message: 'must not be blank' })
  name!: string;

  @ApiPropertyOptional({
    description:
      'The person or service that holds the key, e.g. an e-mail address. Approvals compare owners: keys of one owner count as one approver, and never as the payout’s creator’s second pair of eyes. Compared without case or surrounding spaces. Omitted: the key is its own owner (key:<id>), and cannot approve payouts.',
    example: 'ana.silva@acme.example',
    minLength: 1,
    maxLength: 100,
  })
  @IsOptional()
  // One person, one principal: "Ana@Acme.example " and "ana@acme.example" are the same owner.
  @Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' ? value.normalize('NFKC').trim().toLowerCase() : value,
  )
  @IsString()
  @Length(1, 100)
  @Matches(/^(?!key:)\S(.*\S)?$/, {
    message: 'must not be blank, and must not start with "key:" (the name of keys without an owner)',
  })
  owner?: string;

  @ApiProperty({ enum: SCOPES, isArray: true, example: ['payouts:read', 'payouts:write'] })
  @IsArray()
  @ArrayNotEmpty()
  @ArrayMaxSize(SCOPES.length)
  @ArrayUnique()
  @IsIn(SCOPES, { each: true, message: `each value must be one of ${SCOPES.join(', ')}` })
  scopes!: Scope[];

  @ApiPropertyOptional({
    description: 'When the key stops working (ISO 8601). Omit for a key that does not expire.',
    example: '2027-12-31T23:59:59Z',
    type: String,
    format: 'date-time',
  })
  @IsOptional()
  @Type(() => Date)
  @IsDate({ message: 'must be an ISO 8601 date-time' })
  expiresAt?: Date;
}

export class ListApiKeysQueryDto {
  @ApiPropertyOptional({ description: 'Include revoked keys.', default: false })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsBoolean({ message: 'must be true or false' })
  includeRevoked?: boolean;
}

const KEY_STATUSES = ['active', 'expired', 'revoked'] as const;

export class ApiKeyDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ example: 'payouts-frontend' })
  name!: string;

  @ApiProperty({
    type: String,
    nullable: true,
    example: 'ana.silva@acme.example',
    description: 'Who holds the key; null for a key that is its own owner.',
  })
  owner!: string | null;

  @ApiProperty({ description: 'The key with its secret part hidden.', example: 'pbk_Xy3k9QaB…f0Zq' })
  maskedKey!: string;

  @ApiProperty({ enum: SCOPES, isArray: true })
  scopes!: Scope[];

  @ApiProperty({ enum: KEY_STATUSES })
  status!: (typeof KEY_STATUSES)[number];

  @ApiProperty({ enum: ['api', 'environment', 'bootstrap'] })
  source!: string;

  @ApiProperty({ type: String, format: 'date-time' })
  createdAt!: string;

  @ApiProperty({ type: String, format: 'uuid', nullable: true })
  createdByKeyId!: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  expiresAt!: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'Updated at most once a minute.' })
  lastUsedAt!: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  revokedAt!: string | null;

  static from(key: ApiKey): ApiKeyDto {
    return {
      id: key.id,
      name: key.name,
      owner: key.owner,
      maskedKey: maskedKey(key),
      scopes: key.scopes,
      status: key.revokedAt ? 'revoked' : isActive(key) ? 'active' : 'expired',
      source: key.source,
      createdAt: key.createdAt.toISOString(),
      createdByKeyId: key.createdByKeyId,
      expiresAt: key.expiresAt?.toISOString() ?? null,
      lastUsedAt: key.lastUsedAt?.toISOString() ?? null,
      revokedAt: key.revokedAt?.toISOString() ?? null,
    };
  }
}

export class CreatedApiKeyDto extends ApiKeyDto {
  @ApiProperty({
    description: 'The key itself. It is returned only in this response: store it now, it cannot be shown again.',
    example: 'pbk_Xy3k9QaB7mN2pL5vR8tW1cD4eF6gH0Zq',
  })
  key!: string;
}
