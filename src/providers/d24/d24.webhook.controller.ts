import { Controller, HttpCode, Post, Req } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiOkResponse, ApiOperation, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
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
      'At most one fetch per payout per WEBHOOK_FETCH_INTERVAL_MS (`deferred`: a follow-up check is scheduled); `final`: the payout can no longer change; ' +
      '`unknown_payout`: no payout of ours with that id in an environment whose keys verify `control`.',
  })
  @ApiOkResponse({
    description: 'Verified; what was done with it.',
    schema: {
      type: 'object',
      required: ['outcome'],
      additionalProperties: false,
      properties: { outcome: { type: 'string', enum: [...WEBHOOK_OUTCOMES], example: 'applied' } },
    },
  })
  @ApiConsumes('application/x-www-form-urlencoded')
  @ApiBody({
    description:
      'As D24 posts it. Only `external_id` is used (it is what `control` covers); the other fields are not trusted.',
    required: true,
    schema: {
      type: 'object',
      required: ['external_id', 'control'],
      properties: {
        external_id: { type: 'string', description: 'Our payout id, as sent to D24.' },
        control: {
          type: 'string',
          pattern: '^[0-9A-F]{64}$',
          description:
            'UPPERCASE hex HMAC-SHA256 with the API Signature over a fixed prefix, external_id and a suffix.',
        },
        cashout_id: { type: 'string' },
        date: { type: 'string', example: '2026-11-24 12:00:00' },
        bank_reference_id: { type: 'string' },
        comments: { type: 'string' },
        status_reason: { type: 'string' },
      },
    },
  })
  @ApiUnauthorizedResponse({
    type: ErrorBodyDto,
    description:
      'UNAUTHENTICATED: `control` does not verify with the API Signature of any D24 environment we hold keys for.',
  })
  async notify(@Req() request: RawRequest): Promise<{ outcome: string }> {
    const verified = await this.webhooks.verify('d24', inbound(request));
    if (!verified) throw unverifiable();
    return { outcome: await this.webhooks.process('d24', verified.environments, verified.notice) };
  }
}
