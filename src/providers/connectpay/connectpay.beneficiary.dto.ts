import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsBIC, IsIBAN, IsIn, IsOptional, IsString, Length, Matches, ValidateNested } from 'class-validator';

/** An IBAN with name and address: the rail ConnectPay pays to. */
export class AddressDto {
  @ApiProperty({ example: 'Hauptstr. 1' })
  @IsString()
  @Length(1, 140)
  line1!: string;

  @ApiProperty({ example: 'Berlin' })
  @IsString()
  @Length(1, 70)
  city!: string;

  @ApiPropertyOptional({ example: '10115' })
  @IsOptional()
  @IsString()
  @Length(1, 16)
  postcode?: string;

  @ApiProperty({ example: 'DE' })
  @Matches(/^[A-Z]{2}$/, { message: 'must be an ISO 3166-1 alpha-2 code such as DE' })
  country!: string;
}

export class IbanBeneficiaryDto {
  @ApiProperty({ enum: ['iban'] })
  @IsIn(['iban'])
  type!: 'iban';

  @ApiProperty({ example: 'Erika Mustermann' })
  @IsString()
  @Length(1, 140)
  name!: string;

  @ApiProperty({ example: 'DE89370400440532013000' })
  @IsIBAN({ message: 'must be a valid IBAN' })
  iban!: string;

  @ApiPropertyOptional({ example: 'COBADEFFXXX' })
  @IsOptional()
  @IsBIC({ message: 'must be a valid BIC' })
  bic?: string;

  @ApiPropertyOptional({ example: 'Commerzbank' })
  @IsOptional()
  @IsString()
  @Length(1, 140)
  bankName?: string;

  @ApiPropertyOptional({ type: AddressDto, description: 'Required by SWIFT payments.' })
  @IsOptional()
  @ValidateNested()
  @Type(() => AddressDto)
  address?: AddressDto;
}
