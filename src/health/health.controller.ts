import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckResult, HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { Public } from '../common/auth/auth.decorators';
import { ErrorBodyDto } from '../common/errors/error-body.dto';
import { CredentialsHealthIndicator } from '../credentials/credentials.health';
import { ProvidersHealthIndicator } from '../providers/providers.health';
import { MigrationsHealthIndicator } from './migrations.health';

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
  @ApiOperation({ summary: 'Liveness: the process is up and serving HTTP' })
  @ApiOkResponse({ schema: { type: 'object', properties: { status: { type: 'string', example: 'ok' } } } })
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
  @ApiOkResponse({ description: 'Ready; `details` lists each check.' })
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
