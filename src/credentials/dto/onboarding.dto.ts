import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, IsOptional, IsString, Length, Matches, MaxLength } from 'class-validator';
import { ENVIRONMENTS } from '../domain/credential';
import { CredentialDto } from './credential.dto';

/** Generous upper bound on any PEM field: a long chain is a few kilobytes. */
const MAX_PEM = 65_536;
const NO_WHITESPACE = /^\S+$/;

class LabelledDto {
  @ApiPropertyOptional({ description: 'A name for operators; defaults to something descriptive.', maxLength: 100 })
  @IsOptional()
  @IsString()
  @Length(1, 100)
  label?: string;
}

// ---- Verestro ---------------------------------------------------------------------------------

export class VerestroCsrRequestDto extends LabelledDto {
  @ApiProperty({ enum: ENVIRONMENTS.verestro, example: 'simulator', description: 'sandbox and simulator get a V-SBX- CN; beta and production share one V- CN.' })
  @IsIn(ENVIRONMENTS.verestro)
  environment!: (typeof ENVIRONMENTS.verestro)[number];

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

  @ApiProperty({ example: 'SomeCompany', description: 'Company part of the CN: letters and digits; written first letter upper case, the rest lower case.' })
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

  @ApiPropertyOptional({ enum: [2048, 3072, 4096], default: 4096, description: 'RSA key size; at least 2048.' })
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
  @ApiProperty({ enum: ENVIRONMENTS.verestro, example: 'simulator' })
  @IsIn(ENVIRONMENTS.verestro)
  environment!: (typeof ENVIRONMENTS.verestro)[number];

  @ApiProperty({ description: 'Username of the Basic authorization issued at onboarding.', example: 'partner-1a2b3c4d' })
  @IsString()
  @Length(1, 128)
  @Matches(NO_WHITESPACE, { message: 'must not contain spaces' })
  username!: string;

  @ApiProperty({ description: 'Password of the Basic authorization (sealed, never shown again).', example: 'partner-secret' })
  @IsString()
  @Length(1, 256)
  @Matches(NO_WHITESPACE, { message: 'must not contain spaces' })
  password!: string;
}

export class VerestroCallbackCsrDto {
  @ApiProperty({ enum: ENVIRONMENTS.verestro, example: 'simulator' })
  @IsIn(ENVIRONMENTS.verestro)
  environment!: (typeof ENVIRONMENTS.verestro)[number];

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

export class ImportCertificateDto {
  @ApiProperty({ description: 'The certificate Verestro signed from the CSR, PEM.', example: '-----BEGIN CERTIFICATE-----\nMIIF…\n-----END CERTIFICATE-----\n' })
  @IsString()
  @MaxLength(MAX_PEM)
  certificatePem!: string;

  @ApiPropertyOptional({ description: "Verestro's CA certificate, PEM: checked to have signed the certificate and kept as trust anchor." })
  @IsOptional()
  @IsString()
  @MaxLength(MAX_PEM)
  caPem?: string;
}

// ---- ConnectPay -------------------------------------------------------------------------------

export class ConnectPayChainCheckDto {
  @ApiProperty({ enum: ENVIRONMENTS.connectpay, example: 'simulator' })
  @IsIn(ENVIRONMENTS.connectpay)
  environment!: (typeof ENVIRONMENTS.connectpay)[number];

  @ApiProperty({ description: 'The full chain in PEM: leaf first, then intermediates, root last.', example: '-----BEGIN CERTIFICATE-----\n…leaf…\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\n…root…\n-----END CERTIFICATE-----\n' })
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
  @ApiProperty({ enum: ENVIRONMENTS.connectpay, example: 'simulator' })
  @IsIn(ENVIRONMENTS.connectpay)
  environment!: (typeof ENVIRONMENTS.connectpay)[number];

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

  @ApiProperty({ example: 'Certificate 1 is not issued and signed by certificate 2. Order the chain leaf first, then each issuer, root last.' })
  message!: string;

  @ApiProperty({ type: Number, nullable: true, description: '0 is the first certificate in the text you sent.' })
  certificateIndex!: number | null;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  details?: Record<string, unknown>;
}

export class ChainCertificateDto {
  @ApiProperty()
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
  @ApiProperty({ enum: ENVIRONMENTS.connectpay, example: 'simulator' })
  @IsIn(ENVIRONMENTS.connectpay)
  environment!: (typeof ENVIRONMENTS.connectpay)[number];

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
  @ApiProperty({ enum: ENVIRONMENTS.connectpay, example: 'simulator' })
  @IsIn(ENVIRONMENTS.connectpay)
  environment!: (typeof ENVIRONMENTS.connectpay)[number];

  @ApiProperty({ description: 'The 36-character Secret Token ConnectPay sends with each webhook.', example: '0b7d3c1e-5f2a-4c8e-9a6b-1d2e3f4a5b6c', minLength: 36, maxLength: 36 })
  @IsString()
  @Length(36, 36, { message: 'must be exactly 36 characters (the Secret Token from the DevApp)' })
  @Matches(NO_WHITESPACE, { message: 'must not contain spaces' })
  secretToken!: string;
}

export class ConnectPayMerchantKeyDto extends LabelledDto {
  @ApiProperty({ enum: ENVIRONMENTS.connectpay, example: 'simulator' })
  @IsIn(ENVIRONMENTS.connectpay)
  environment!: (typeof ENVIRONMENTS.connectpay)[number];
}

// ---- D24 --------------------------------------------------------------------------------------

export class D24KeysDto extends LabelledDto {
  @ApiProperty({ enum: ENVIRONMENTS.d24, example: 'simulator' })
  @IsIn(ENVIRONMENTS.d24)
  environment!: (typeof ENVIRONMENTS.d24)[number];

  @ApiProperty({ description: 'Cashouts "API Key" (sent as login).', example: 'simApiKey0001', maxLength: 32 })
  @IsString()
  @Length(1, 32)
  @Matches(NO_WHITESPACE, { message: 'must not contain spaces' })
  apiKey!: string;

  @ApiProperty({ description: 'Cashouts "API Passphrase" (sent as pass).', example: 'simPassphrase0001', maxLength: 32 })
  @IsString()
  @Length(1, 32)
  @Matches(NO_WHITESPACE, { message: 'must not contain spaces' })
  apiPassphrase!: string;

  @ApiProperty({ description: 'Cashouts "API Signature": the HMAC secret, never sent to D24.', example: 'simSignatureSecret0001', maxLength: 128 })
  @IsString()
  @Length(1, 128)
  @Matches(NO_WHITESPACE, { message: 'must not contain spaces' })
  apiSignature!: string;

  @ApiPropertyOptional({ description: 'Read-only key for GET /v3/banks (Bearer).', maxLength: 128 })
  @IsOptional()
  @IsString()
  @Length(1, 128)
  @Matches(NO_WHITESPACE, { message: 'must not contain spaces' })
  readOnlyKey?: string;
}
