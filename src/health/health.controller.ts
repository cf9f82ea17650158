import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckResult, HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { Public } from '../common/auth/auth.decorators';
import { ErrorBodyDto } from '../common/errors/error-body.dto';
import { CredentialsHealthIndicator } from '../credentials/credentials.health';
import { ProvidersHealthIndicator } from '../providers/providers.health';
import { MigrationsHealthIndicator } from './migrations.health';

/** One check of the readiness answer (Terminus' HealthIndicatorResult): up or down, with what it found. */
const CHECK_RESULTS = {
  type: 'object',
  additionalProperties: {
    type: 'object',
    required: ['status'],
    properties: { status: { type: 'string', enum: ['up', 'down'] } },
    additionalProperties: true,
  },
};

/** Terminus' HealthCheckResult as /health/ready answers it when ready. */
const READINESS_SCHEMA = {
  type: 'object',
  required: ['status', 'details'],
  additionalProperties: false,
  properties: {
    status: { type: 'string', enum: ['ok'] },
    info: CHECK_RESULTS,
    error: CHECK_RESULTS,
    details: CHECK_RESULTS,
  },
};

@ApiTags('Health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
    private readonly migrations: MigrationsHealthIndicator,
    private readonly credentials: CredentialsHealthIndicator,
    private readonly providers: ProvidersHealthIndicator,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'Liveness: the process is up and serving HTTP',
    description: 'Touches no dependency, so a database outage does not get the process restarted.',
  })
  @ApiOkResponse({
    description: 'Up.',
    schema: {
      type: 'object',
      required: ['status'],
      additionalProperties: false,
      properties: { status: { type: 'string', enum: ['ok'] } },
    },
  })
  liveness(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @HealthCheck({ swaggerDocumentation: false })
  @ApiOperation({
    summary: 'Readiness: the database answers and every migration is applied',
    description:
      'Also reports `credentials.degraded` (still 200) with the names of credentials in service that expire within 7 days.',
  })
  @ApiOkResponse({ description: 'Ready; `details` lists each check.', schema: READINESS_SCHEMA })
  @ApiServiceUnavailableResponse({ type: ErrorBodyDto, description: 'NOT_READY; `details` says which check failed.' })
  readiness(): Promise<HealthCheckResult> {
    return this.health.check([
      () => this.database.pingCheck('database', { timeout: 2_000 }),
      () => this.migrations.check('migrations'),
      () => this.credentials.check('credentials'),
      () => this.providers.check('providers'),
    ]);
  }
}
