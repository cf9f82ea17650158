import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { MAX_PEM } from './onboarding-fields';

export class ImportCertificateDto {
  @ApiProperty({
    description: 'The certificate the provider signed from the CSR, PEM.',
    example: '-----BEGIN CERTIFICATE-----\nMIIF…\n-----END CERTIFICATE-----\n',
  })
  @IsString()
  @MaxLength(MAX_PEM)
  certificatePem!: string;

  @ApiPropertyOptional({
    description: "The provider's CA certificate, PEM: checked to have signed the certificate and kept as trust anchor.",
  })
  @IsOptional()
  @IsString()
  @MaxLength(MAX_PEM)
  caPem?: string;
}
