import { Controller, Header, HttpCode, HttpStatus, Logger, Post, Req } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import type { Request } from 'express';
import { Public } from '../common/auth/auth.decorators';
import { ApiError } from '../common/errors/api-error';
import { ErrorBodyDto } from '../common/errors/error-body.dto';
import { ErrorCode } from '../common/errors/error-codes';
import type { InboundWebhook } from '../providers/provider.port';
import { WebhooksService } from './webhooks.service';

type RawRequest = Request & { rawBody?: Buffer };

/** Answered to anything that does not verify: no hint of why. */
const unverifiable = () => new ApiError(HttpStatus.UNAUTHORIZED, ErrorCode.UNAUTHENTICATED, 'The notification could not be verified.');

/** The client address is Express's request.ip, so TRUST_PROXY decides whether X-Forwarded-For counts. */
function inbound(request: RawRequest): InboundWebhook {
  return { headers: request.headers, rawBody: request.rawBody ?? Buffer.alloc(0), remoteAddress: request.ip ?? request.socket.remoteAddress };
}

/**
 * Provider notifications. They carry no API key: each is authenticated the provider's way. They
 * only ever trigger a status fetch; what they say about the status is not trusted.
 */
@ApiTags('Webhooks')
@Public()
@Controller('v1/webhooks')
export class WebhooksController {
  private readonly logger = new Logger('Webhooks');

  constructor(private readonly webhooks: WebhooksService) {}

  @Post('d24')
  @HttpCode(200)
  @ApiOperation({
    summary: 'D24 cashout notification (form-encoded)',
    description:
      '`control` is verified in constant time; it covers `external_id` only, so the status is fetched from D24 by that id and no other field is used. ' +
      'At most one fetch per payout per WEBHOOK_FETCH_INTERVAL_MS (`deferred`: a follow-up check is scheduled); `final`: the payout can no longer change.',
  })
  @ApiOkResponse({ schema: { type: 'object', properties: { outcome: { type: 'string', enum: ['applied', 'duplicate', 'deferred', 'final', 'unknown_payout', 'failed'], example: 'applied' } } } })
  @ApiUnauthorizedResponse({ type: ErrorBodyDto })
  async d24(@Req() request: RawRequest): Promise<{ outcome: string }> {
    const webhook = inbound(request);
    const verified = await this.webhooks.verify('d24', webhook, await this.webhooks.d24EnvironmentHint(webhook.rawBody));
    if (!verified) throw unverifiable();
    return { outcome: await this.webhooks.process('d24', verified.environment, verified.notice) };
  }

  @Post('connectpay')
  @HttpCode(200)
  @Header('Content-Type', 'text/plain; charset=utf-8')
  @ApiOperation({ summary: 'ConnectPay notification', description: 'Secret token header (and optional source-IP allow-list) verified; answers OK at once and processes after.' })
  @ApiOkResponse({ schema: { type: 'string', example: 'OK' } })
  @ApiUnauthorizedResponse({ type: ErrorBodyDto })
  async connectpay(@Req() request: RawRequest): Promise<string> {
    const verified = await this.webhooks.verify('connectpay', inbound(request));
    if (!verified) throw unverifiable();
    // ConnectPay wants OK within 10 s; the status fetch happens after the answer.
    setImmediate(() => {
      this.webhooks.process('connectpay', verified.environment, verified.notice).catch((error: unknown) => this.logger.warn({ error: String(error) }, 'notification processing failed'));
    });
    return 'OK';
  }
}
