import { Controller, Header, HttpCode, Logger, Post, Req } from '@nestjs/common';
import { ApiBody, ApiHeader, ApiOkResponse, ApiOperation, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { Public } from '../../common/auth/auth.decorators';
import { ErrorBodyDto } from '../../common/errors/error-body.dto';
import { afterAnswer } from '../../common/http/requests-in-flight';
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
  @ApiHeader({
    name: 'X-Secret-Token',
    required: true,
    description: 'The Secret Token stored for the environment (the header name is CONNECTPAY_WEBHOOK_TOKEN_HEADER).',
  })
  @ApiBody({
    description:
      'As ConnectPay posts it. Only `paymentOrderNo` / `externalReference` are used, to fetch the status; the status in the body is not trusted.',
    required: true,
    schema: {
      type: 'object',
      properties: {
        eventType: { type: 'string' },
        paymentOrderNo: { type: 'string' },
        externalReference: { type: 'string', description: 'Our payout id, as sent to ConnectPay.' },
        transactionStatus: { type: 'string' },
        timestamp: { type: 'string', format: 'date-time' },
      },
    },
  })
  @ApiOkResponse({
    description: 'Received; the status is fetched after the answer.',
    content: { 'text/plain': { schema: { type: 'string', enum: ['OK'] } } },
  })
  @ApiUnauthorizedResponse({
    type: ErrorBodyDto,
    description: 'UNAUTHENTICATED: the Secret Token is missing or wrong, or the source address is not allowed.',
  })
  async notify(@Req() request: RawRequest): Promise<string> {
    const verified = await this.webhooks.verify('connectpay', inbound(request));
    if (!verified) throw unverifiable();
    // ConnectPay wants OK within 10 s; the status fetch happens after the answer, and a shutdown
    // waits for it as for the request itself.
    afterAnswer(request, () =>
      this.webhooks
        .process('connectpay', verified.environments, verified.notice)
        .catch((error: unknown) => this.logger.warn({ error: String(error) }, 'notification processing failed')),
    );
    return 'OK';
  }
}
