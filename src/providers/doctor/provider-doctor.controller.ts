import { Controller, HttpCode, Param, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiProperty,
  ApiPropertyOptional,
  ApiTags,
} from '@nestjs/swagger';
import { IsIn } from 'class-validator';
import { RequireScopes } from '../../common/auth/auth.decorators';
import { ApiError } from '../../common/errors/api-error';
import { ErrorBodyDto } from '../../common/errors/error-body.dto';
import { ALL_ENVIRONMENTS, descriptorOf, isEnvironmentOf, PROVIDERS } from '../provider-catalogue';
import type { Provider, ProviderEnvironment } from '../provider.port';
import type { PreflightStatus } from './preflight';
import { ProviderDoctor } from './provider-doctor';

const STATUSES: readonly PreflightStatus[] = ['pass', 'warn', 'fail', 'skip'];

class DoctorParamsDto {
  @IsIn(PROVIDERS, { message: `must be one of ${PROVIDERS.join(', ')}` })
  provider!: Provider;

  @IsIn(ALL_ENVIRONMENTS, { message: `must be one of ${ALL_ENVIRONMENTS.join(', ')}` })
  environment!: ProviderEnvironment;
}

class PreflightCheckDto {
  @ApiProperty({
    example: 'authentication',
    description:
      'Stable: host:<family>, dns:<family>, tls:<family>, credential:<kind>, credentials, authentication, clock, notification_url, …',
  })
  name!: string;

  @ApiProperty({ enum: STATUSES, description: 'fail blocks real payouts; warn will, soon or in production.' })
  status!: PreflightStatus;

  @ApiProperty({ example: 'The provider accepted our source address, keys and signature.' })
  message!: string;

  @ApiPropertyOptional({ type: String, nullable: true, description: 'What to change; null on a pass or a skip.' })
  fix!: string | null;
}

class DoctorReportDto {
  @ApiProperty({ enum: PROVIDERS })
  provider!: Provider;

  @ApiProperty({ enum: ALL_ENVIRONMENTS })
  environment!: ProviderEnvironment;

  @ApiProperty({ description: 'No check failed (warnings allowed).' })
  ok!: boolean;

  @ApiProperty({ format: 'date-time' })
  checkedAt!: string;

  @ApiProperty({ type: [PreflightCheckDto] })
  checks!: PreflightCheckDto[];
}

/** Thin: the doctor does the work (provider-doctor.ts). */
@ApiTags('Providers')
@Controller('v1/providers')
export class ProviderDoctorController {
  constructor(private readonly doctor: ProviderDoctor) {}

  @Post(':provider/environments/:environment/doctor')
  @HttpCode(200)
  @RequireScopes('credentials:admin')
  @ApiOperation({
    summary: 'Preflight a provider environment (the provider doctor)',
    description:
      'Read-only checks against the configured hosts with the credentials in service, from this host: base URL, DNS, the TLS handshake with our client certificate, credential expiry, the provider accepting our authentication (each provider’s own read-only call, e.g. a status query for an id nobody used), clock skew, the notification URL. Each check that does not pass names its cause and its fix. Nothing is created or changed at the provider. Answers 200 with ok=false when a check fails.',
  })
  @ApiParam({ name: 'provider', enum: PROVIDERS })
  @ApiParam({ name: 'environment', enum: ALL_ENVIRONMENTS })
  @ApiOkResponse({ type: DoctorReportDto })
  @ApiBadRequestResponse({
    type: ErrorBodyDto,
    description: 'VALIDATION_FAILED: an unknown provider, or an environment the provider does not have.',
  })
  async examine(@Param() params: DoctorParamsDto): Promise<DoctorReportDto> {
    if (!isEnvironmentOf(params.provider, params.environment))
      throw ApiError.validation([
        {
          field: 'environment',
          code: 'UNKNOWN_ENVIRONMENT',
          message: `must be one of ${(descriptorOf(params.provider).environments as readonly string[]).join(', ')} for ${params.provider}`,
        },
      ]);
    const report = await this.doctor.examine(params.provider, params.environment);
    return { ...report, checkedAt: report.checkedAt.toISOString() };
  }
}
