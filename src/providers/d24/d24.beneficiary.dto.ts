import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsEmail, IsIn, IsInt, IsOptional, IsString, Length, Matches, Max, MaxLength, Min } from 'class-validator';

/** A bank account in Latin America with the holder's document: the rail D24 pays to. */
export class LatamBankBeneficiaryDto {
  @ApiProperty({ enum: ['latam_bank_account'] })
  @IsIn(['latam_bank_account'])
  type!: 'latam_bank_account';

  @ApiProperty({ example: 'BR', description: 'ISO 3166-1 alpha-2.' })
  @Matches(/^[A-Z]{2}$/, { message: 'must be an ISO 3166-1 alpha-2 code such as BR' })
  country!: string;

  @ApiProperty({ example: 'José' })
  @IsString()
  @Length(1, 100)
  name!: string;

  @ApiPropertyOptional({ example: 'Müller' })
  @IsOptional()
  @IsString()
  @Length(1, 100)
  lastName?: string;

  @ApiProperty({ example: '84932568207' })
  @IsString()
  @Length(1, 40)
  documentId!: string;

  @ApiPropertyOptional({ example: 'CPF' })
  @IsOptional()
  @IsString()
  @Length(1, 15)
  documentType?: string;

  @ApiPropertyOptional({ type: 'integer', example: 341, description: 'Bank code from D24 /v3/banks.' })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(99999)
  bankCode?: number;

  @ApiPropertyOptional({ example: '123456789' })
  @IsOptional()
  @IsString()
  @Length(1, 30)
  bankAccount?: string;

  @ApiPropertyOptional({ example: '0001' })
  @IsOptional()
  @IsString()
  @Length(1, 15)
  bankBranch?: string;

  @ApiPropertyOptional({ example: 'C' })
  @IsOptional()
  @Matches(/^[A-Z]$/, { message: 'must be one letter such as C (checking) or S (savings)' })
  accountType?: string;

  @ApiPropertyOptional({ example: 'jose@example.com' })
  @IsOptional()
  @IsEmail()
  @MaxLength(100)
  email?: string;

  @ApiPropertyOptional({ example: '+5511999999999' })
  @IsOptional()
  @Matches(/^\+?[0-9]{6,19}$/, { message: 'must be a phone number of digits, optionally starting with +' })
  phone?: string;
}
