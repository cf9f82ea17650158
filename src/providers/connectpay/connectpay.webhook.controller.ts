import { Controller, Header, HttpCode, Logger, Post, Req } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { Public } from '../../common/auth/auth.decorators';
import { ErrorBodyDto } from '../../common/errors/error-body.dto';
import { inbound, unverifiable, type RawRequest } from '../../webhooks/inbound';
import { WebhooksService } from '../../webhooks/webhooks.service';

/**
 * ConnectPay notifications. They carry no API key: the secret token header (and the optional
 * source allow-list) authenticates them. They only ever trigger a status fetch.
 */
@ApiTags('Webhooks')
@Public()
@Controller('v1/webhooks/connectpay')
export class ConnectPayWebhookController {
  private readonly logger = new Logger('Webhooks');

  constructor(private readonly webhooks: WebhooksService) {}

  @Post()
  @HttpCode(200)
  @Header('Content-Type', 'text/plain; charset=utf-8')
  @ApiOperation({
    operationId: 'Webhooks_connectpay',
    summary: 'ConnectPay notification',
    description:
      'Secret token header (and optional source-IP allow-list) verified; answers OK at once and processes after.',
  })
  @ApiOkResponse({ schema: { type: 'string', example: 'OK' } })
  @ApiUnauthorizedResponse({ type: ErrorBodyDto })
  async notify(@Req() request: RawRequest): Promise<string> {
    const verified = await this.webhooks.verify('connectpay', inbound(request));
    if (!verified) throw unverifiable();
    // ConnectPay wants OK within 10 s; the status fetch happens after the answer.
    setImmediate(() => {
      this.webhooks
        .process('connectpay', verified.environment, verified.notice)
        .catch((error: unknown) => this.logger.warn({ error: String(error) }, 'notification processing failed'));
    });
    return 'OK';
  }
}
