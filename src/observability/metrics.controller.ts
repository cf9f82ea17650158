import { Controller, Get, HttpStatus, Res } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { RequireScopes } from '../common/auth/auth.decorators';
import { ApiError } from '../common/errors/api-error';
import { ErrorCode } from '../common/errors/error-codes';
import { ErrorBodyDto } from '../common/errors/error-body.dto';
import { Environment } from '../config/environment';
import { Metrics } from './metrics';

/** GET /metrics on the API port, for a key with metrics:read (METRICS=scope, the default). */
@ApiTags('Operations')
@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly metrics: Metrics,
    private readonly environment: Environment,
  ) {}

  @Get()
  @RequireScopes('metrics:read')
  @ApiOperation({
    summary: 'Prometheus metrics',
    description:
      'The Prometheus text exposition format: HTTP, payouts, provider calls and circuits, reconciler, outbox, webhooks, credential expiry, database pool and the Node process. ' +
      'Served here to a key with metrics:read when METRICS=scope (the default); on its own listener when METRICS=port (then 404 here); nowhere when METRICS=off.',
  })
  @ApiOkResponse({
    description: 'The metrics.',
    content: { 'text/plain': { schema: { type: 'string' } } },
  })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: 'NOT_FOUND: metrics are not served on this port.' })
  async scrape(@Res() response: Response): Promise<void> {
    if (this.environment.METRICS !== 'scope') {
      throw new ApiError(
        HttpStatus.NOT_FOUND,
        ErrorCode.NOT_FOUND,
        'Metrics are not served on this port; see METRICS.',
      );
    }
    const { contentType, body } = await this.metrics.render();
    response.status(200).setHeader('Content-Type', contentType).setHeader('Cache-Control', 'no-store').send(body);
  }
}
