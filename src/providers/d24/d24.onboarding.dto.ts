import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Length, Matches } from 'class-validator';
import { LabelledDto, NO_WHITESPACE } from '../../credentials/dto/onboarding-fields';
import { D24_ENVIRONMENTS, type D24Environment } from './d24.descriptor';

export class D24KeysDto extends LabelledDto {
  @ApiProperty({ enum: D24_ENVIRONMENTS, example: 'simulator' })
  @IsIn(D24_ENVIRONMENTS)
  environment!: D24Environment;

  @ApiProperty({ description: 'Cashouts "API Key" (sent as login).', example: 'simApiKey0001', maxLength: 32 })
  @IsString()
  @Length(1, 32)
  @Matches(NO_WHITESPACE, { message: 'must not contain spaces' })
  apiKey!: string;

  @ApiProperty({
    description: 'Cashouts "API Passphrase" (sent as pass).',
    example: 'simPassphrase0001',
    maxLength: 32,
  })
  @IsString()
  @Length(1, 32)
  @Matches(NO_WHITESPACE, { message: 'must not contain spaces' })
  apiPassphrase!: string;

  @ApiProperty({
    description: 'Cashouts "API Signature": the HMAC secret, never sent to D24.',
    example: 'simSignatureSecret0001',
    maxLength: 128,
  })
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
