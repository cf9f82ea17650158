import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, IsOptional, IsString, Length, Matches, MaxLength } from 'class-validator';
import { LabelledDto, MAX_PEM, NO_WHITESPACE } from '../../credentials/dto/onboarding-fields';
import { CredentialDto } from '../../credentials/dto/credential.dto';
import { VERESTRO_ENVIRONMENTS, type VerestroEnvironment } from './verestro.descriptor';

export class VerestroCsrRequestDto extends LabelledDto {
  @ApiProperty({
    enum: VERESTRO_ENVIRONMENTS,
    example: 'simulator',
    description: 'sandbox and simulator get a V-SBX- CN; beta and production share one V- CN.',
  })
  @IsIn(VERESTRO_ENVIRONMENTS)
  environment!: VerestroEnvironment;

  @ApiProperty({ example: 'US', description: 'ISO 3166-1 alpha-2 country code (C).' })
  @IsString()
  @MaxLength(256)
  country!: string;

  @ApiProperty({ example: 'Florida', description: 'State, county or region (ST).' })
  @IsString()
  @MaxLength(256)
  state!: string;

  @ApiProperty({ example: 'Miami', description: 'City (L).' })
  @IsString()
  @MaxLength(256)
  locality!: string;

  @ApiProperty({ example: 'SomeCompany', description: 'Company name as registered (O).' })
  @IsString()
  @MaxLength(256)
  organization!: string;

  @ApiProperty({
    example: 'SomeCompany',
    description: 'Company part of the CN: letters and digits; written first letter upper case, the rest lower case.',
  })
  @IsString()
  @MaxLength(256)
  companyName!: string;

  @ApiProperty({ example: 'Payouts', description: 'Application part of the CN: letters and digits.' })
  @IsString()
  @MaxLength(256)
  applicationName!: string;

  @ApiProperty({ example: 'security@example.com', description: 'Contact for forced renewal (emailAddress).' })
  @IsString()
  @MaxLength(256)
  email!: string;

  @ApiPropertyOptional({
    type: 'integer',
    enum: [2048, 3072, 4096],
    default: 4096,
    description: 'RSA key size; at least 2048.',
  })
  @IsOptional()
  @IsInt()
  keyBits?: number;
}

export class VerestroCsrResponseDto {
  @ApiProperty({ type: CredentialDto })
  credential!: CredentialDto;

  @ApiProperty({ example: 'V-SBX-Somecompany-Payouts' })
  commonName!: string;

  @ApiProperty({ description: 'PKCS#10 request in PEM: send this to Verestro (it is public).' })
  csrPem!: string;
}

export class VerestroBasicAuthDto extends LabelledDto {
  @ApiProperty({ enum: VERESTRO_ENVIRONMENTS, example: 'simulator' })
  @IsIn(VERESTRO_ENVIRONMENTS)
  environment!: VerestroEnvironment;

  @ApiProperty({
    description: 'Username of the Basic authorization issued at onboarding.',
    example: 'partner-1a2b3c4d',
  })
  @IsString()
  @Length(1, 128)
  @Matches(NO_WHITESPACE, { message: 'must not contain spaces' })
  username!: string;

  @ApiProperty({
    description: 'Password of the Basic authorization (sealed, never shown again).',
    example: 'partner-secret',
  })
  @IsString()
  @Length(1, 256)
  @Matches(NO_WHITESPACE, { message: 'must not contain spaces' })
  password!: string;
}

export class VerestroCallbackCsrDto {
  @ApiProperty({ enum: VERESTRO_ENVIRONMENTS, example: 'simulator' })
  @IsIn(VERESTRO_ENVIRONMENTS)
  environment!: VerestroEnvironment;

  @ApiProperty({ description: 'The CSR Verestro sent for its callback client certificate.' })
  @IsString()
  @MaxLength(MAX_PEM)
  csrPem!: string;
}

export class VerestroCallbackCertificateDto {
  @ApiProperty({ description: 'Send this back to Verestro: it presents it on every callback.' })
  certificatePem!: string;

  @ApiProperty({ description: 'Our callback CA (Verestro may pin it).' })
  caPem!: string;
}
