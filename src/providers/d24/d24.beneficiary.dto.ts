import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { COUNTRIES_WITH_DOCUMENT_RULES } from '../../beneficiaries/domain/latam-documents';
import {
  IsBankAccountOfCountry,
  IsBankBranchOfCountry,
  IsDocumentOfCountry,
} from '../../beneficiaries/beneficiary-number.validators';
import {
  IsEmail,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateBy,
} from 'class-validator';

const DOCUMENT_RULES = Object.entries(COUNTRIES_WITH_DOCUMENT_RULES)
  .map(([country, types]) => `${country} ${types.join('/')}`)
  .join('; ');

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

  @ApiProperty({
    example: '84932568207',
    description: `Checked for the country's document types (check digits where they have them): ${DOCUMENT_RULES}. Separators (. - / spaces) are allowed.`,
  })
  @IsString()
  @Length(1, 40)
  @IsDocumentOfCountry()
  documentId!: string;

  @ApiPropertyOptional({
    example: 'CPF',
    description:
      'When absent, inferred from the country and the number (BR: 11 digits CPF, 14 CNPJ; AR and PE: 11 digits CUIT/RUC, else DNI; MX: CURP; CL: RUT; CO: CC).',
  })
  @IsOptional()
  @IsString()
  @Length(1, 15)
  documentType?: string;

  @ApiPropertyOptional({
    type: 'integer',
    example: 341,
    description:
      'Bank code from GET /v1/providers/d24/banks. Brazil PIX: 10000 (phone key in phone), 10001 (email key in email), 10002 (the CPF in documentId); Colombia: 1507 Nequi and 1551 Daviplata (the mobile number in bankAccount), 10003 Efecty; Peru: 901 Yape, 902 Plin (phone).',
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(99999)
  bankCode?: number;

  @ApiPropertyOptional({
    example: '123456789',
    description:
      "Checked for the country: Mexico a CLABE (18 digits, check digit; a debit card number is refused), Argentina a CBU/CVU (22 digits, check digits), Brazil a conta in its bank's format, Colombia 8 to 19 digits, Chile 6 to 16, Peru the 20-digit CCI, Ecuador 5 to 20, Paraguay 3 to 20, Bolivia 4 to 30. Left out for PIX keys (Brazil bankCode 10000 phone, 10001 email, 10002 CPF) and cash networks. The fields D24 requires per country are in the README (Beneficiaries).",
  })
  @IsOptional()
  @IsString()
  @Length(1, 30)
  @IsBankAccountOfCountry()
  bankAccount?: string;

  @ApiPropertyOptional({
    example: '0001',
    description: 'Brazil: the agência, 1 to 4 digits and an optional check digit.',
  })
  @IsOptional()
  @IsString()
  @Length(1, 15)
  @IsBankBranchOfCountry()
  bankBranch?: string;

  @ApiPropertyOptional({
    example: 'C',
    description: 'C checking, S savings (Chile also V, vista); required for bank accounts in BR, CO, CL, PE, EC, BO.',
  })
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

  @ApiPropertyOptional({ example: 'Rua Augusta 1500', description: 'Street address (D24 `address`, ≤ 255).' })
  @IsOptional()
  @IsString()
  @Length(1, 255)
  address?: string;

  @ApiPropertyOptional({ example: 'São Paulo', description: 'D24 `city`.' })
  @IsOptional()
  @IsString()
  @Length(1, 100)
  city?: string;

  @ApiPropertyOptional({ example: '01305-100', description: 'D24 `postal_code`.' })
  @IsOptional()
  @Matches(/^[A-Za-z0-9 -]{1,20}$/, { message: 'must be a postal code of letters, digits, spaces or dashes' })
  postalCode?: string;

  @ApiPropertyOptional({
    example: '1990-04-23',
    description: 'Date of birth (D24 `beneficiary_birthdate`), YYYY-MM-DD, in the past.',
  })
  @IsOptional()
  @IsPastIsoDate()
  birthdate?: string;
}

/** A calendar date written YYYY-MM-DD that exists (no 2023-02-30) and is before today. */
function IsPastIsoDate(): PropertyDecorator {
  return ValidateBy({
    name: 'isPastIsoDate',
    validator: {
      validate: (value: unknown) => {
        if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
        const date = new Date(`${value}T00:00:00Z`);
        return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(value) && date.getTime() < Date.now();
      },
      defaultMessage: () => 'must be a date in the past written YYYY-MM-DD',
    },
  });
}
