import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Length, Matches, MaxLength } from 'class-validator';
import { LabelledDto, MAX_PEM, NO_WHITESPACE } from '../../credentials/dto/onboarding-fields';
import { CredentialDto } from '../../credentials/dto/credential.dto';
import { CONNECTPAY_ENVIRONMENTS, type ConnectPayEnvironment } from './connectpay.descriptor';

export class ConnectPayChainCheckDto {
  @ApiProperty({ enum: CONNECTPAY_ENVIRONMENTS, example: 'simulator' })
  @IsIn(CONNECTPAY_ENVIRONMENTS)
  environment!: ConnectPayEnvironment;

  @ApiProperty({
    description: 'The full chain in PEM: leaf first, then intermediates, root last.',
    example:
      '-----BEGIN CERTIFICATE-----\n…leaf…\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\n…root…\n-----END CERTIFICATE-----\n',
  })
  @IsString()
  @MaxLength(MAX_PEM)
  chainPem!: string;

  @ApiPropertyOptional({ description: "The leaf's private key (PEM); checked to match, never stored by a check." })
  @IsOptional()
  @IsString()
  @MaxLength(MAX_PEM)
  privateKeyPem?: string;
}

export class ConnectPayCertificateDto extends LabelledDto {
  @ApiProperty({ enum: CONNECTPAY_ENVIRONMENTS, example: 'simulator' })
  @IsIn(CONNECTPAY_ENVIRONMENTS)
  environment!: ConnectPayEnvironment;

  @ApiProperty({ description: 'The full chain in PEM: leaf first, then intermediates, root last.' })
  @IsString()
  @MaxLength(MAX_PEM)
  chainPem!: string;

  @ApiProperty({ description: "The leaf's private key, PEM (stored sealed, never shown again)." })
  @IsString()
  @MaxLength(MAX_PEM)
  privateKeyPem!: string;
}

export class ChainFindingDto {
  @ApiProperty({ example: 'WRONG_ORDER' })
  code!: string;

  @ApiProperty({ enum: ['error', 'warning'] })
  severity!: string;

  @ApiProperty({
    example:
      'Certificate 1 is not issued and signed by certificate 2. Order the chain leaf first, then each issuer, root last.',
  })
  message!: string;

  @ApiProperty({ type: 'integer', nullable: true, description: '0 is the first certificate in the text you sent.' })
  certificateIndex!: number | null;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  details?: Record<string, unknown>;
}

export class ChainCertificateDto {
  @ApiProperty({ type: 'integer', description: '0 is the first certificate in the text you sent.' })
  index!: number;

  @ApiProperty()
  subject!: string;

  @ApiProperty()
  issuer!: string;

  @ApiProperty()
  serialNumber!: string;

  @ApiProperty()
  fingerprintSha256!: string;

  @ApiProperty({ type: String, format: 'date-time' })
  notBefore!: string;

  @ApiProperty({ type: String, format: 'date-time' })
  notAfter!: string;

  @ApiProperty()
  selfSigned!: boolean;
}

export class ChainReportDto {
  @ApiProperty({ description: 'True when no finding is an error.' })
  ok!: boolean;

  @ApiProperty({ type: ChainCertificateDto, isArray: true })
  certificates!: ChainCertificateDto[];

  @ApiProperty({ type: ChainFindingDto, isArray: true })
  findings!: ChainFindingDto[];
}

export class ConnectPayCertificateResponseDto {
  @ApiProperty({ type: CredentialDto })
  credential!: CredentialDto;

  @ApiProperty({ type: ChainReportDto })
  report!: ChainReportDto;
}

export class ConnectPayApiClientDto extends LabelledDto {
  @ApiProperty({ enum: CONNECTPAY_ENVIRONMENTS, example: 'simulator' })
  @IsIn(CONNECTPAY_ENVIRONMENTS)
  environment!: ConnectPayEnvironment;

  @ApiProperty({ description: 'DevApp Client ID (ClientKey).', example: 'sim-client-key' })
  @IsString()
  @Length(1, 128)
  @Matches(NO_WHITESPACE, { message: 'must not contain spaces' })
  clientKey!: string;

  @ApiProperty({ description: 'DevApp Client Secret.', example: 'sim-client-secret' })
  @IsString()
  @Length(1, 256)
  @Matches(NO_WHITESPACE, { message: 'must not contain spaces' })
  clientSecret!: string;

  @ApiPropertyOptional({ description: 'Merchant Brand ID of the DevApp (not secret).', example: 'brand-001' })
  @IsOptional()
  @IsString()
  @Length(1, 64)
  brandId?: string;
}

export class ConnectPayWebhookSecretDto extends LabelledDto {
  @ApiProperty({ enum: CONNECTPAY_ENVIRONMENTS, example: 'simulator' })
  @IsIn(CONNECTPAY_ENVIRONMENTS)
  environment!: ConnectPayEnvironment;

  @ApiProperty({
    description: 'The 36-character Secret Token ConnectPay sends with each webhook.',
    example: '0b7d3c1e-5f2a-4c8e-9a6b-1d2e3f4a5b6c',
    minLength: 36,
    maxLength: 36,
  })
  @IsString()
  @Length(36, 36, { message: 'must be exactly 36 characters (the Secret Token from the DevApp)' })
  @Matches(NO_WHITESPACE, { message: 'must not contain spaces' })
  secretToken!: string;
}

export class ConnectPayMerchantKeyDto extends LabelledDto {
  @ApiProperty({ enum: CONNECTPAY_ENVIRONMENTS, example: 'simulator' })
  @IsIn(CONNECTPAY_ENVIRONMENTS)
  environment!: ConnectPayEnvironment;
}

// ---- D24 --------------------------------------------------------------------------------------
