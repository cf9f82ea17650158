import { Controller, HttpCode, Post, Req } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { Public } from '../../common/auth/auth.decorators';
import { ErrorBodyDto } from '../../common/errors/error-body.dto';
import { inbound, unverifiable, type RawRequest } from '../../webhooks/inbound';
import { WEBHOOK_OUTCOMES, WebhooksService } from '../../webhooks/webhooks.service';

/**
 * D24 cashout notifications. They carry no API key: the control string proves them. They only
 * ever trigger a status fetch; what they say about the status is not trusted.
 */
@ApiTags('Webhooks')
@Public()
@Controller('v1/webhooks/d24')
export class D24WebhookController {
  constructor(private readonly webhooks: WebhooksService) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({
    operationId: 'Webhooks_d24',
    summary: 'D24 cashout notification (form-encoded)',
    description:
      '`control` is verified in constant time; it covers `external_id` only, so the status is fetched from D24 by that id and no other field is used. ' +
      'At most one fetch per payout per WEBHOOK_FETCH_INTERVAL_MS (`deferred`: a follow-up check is scheduled); `final`: the payout can no longer change.',
  })
  @ApiOkResponse({
    schema: {
      type: 'object',
      properties: { outcome: { type: 'string', enum: [...WEBHOOK_OUTCOMES], example: 'applied' } },
    },
  })
  @ApiUnauthorizedResponse({ type: ErrorBodyDto })
  async notify(@Req() request: RawRequest): Promise<{ outcome: string }> {
    const webhook = inbound(request);
    // D24 names our payout in the body: its environment tells which keys to check the control with.
    const externalId = new URLSearchParams(webhook.rawBody.toString('utf8')).get('external_id');
    const named = externalId ? await this.webhooks.payoutNamed('d24', externalId) : null;
    const verified = await this.webhooks.verify('d24', webhook, named?.environment);
    if (!verified) throw unverifiable();
    return { outcome: await this.webhooks.process('d24', verified.environment, verified.notice, named) };
  }
}
