import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { CurrentPrincipal, RequireScopes } from '../common/auth/auth.decorators';
import type { Principal } from '../common/auth/scopes';
import { ErrorBodyDto } from '../common/errors/error-body.dto';
import { decodeIdCursor, encodeIdCursor } from '../common/http/id-cursor';
import { digitsParam } from '../common/http/digits-param.pipe';
import { uuidParam } from '../common/http/uuid-param.pipe';
import {
  CreatedSubscriptionDto,
  CreateSubscriptionDto,
  DEFAULT_SUBSCRIBED_EVENTS,
  DeliveryDto,
  DeliveryPageDto,
  ListDeliveriesQueryDto,
  RotateSecretDto,
  SubscriptionDto,
} from './dto/event-subscriptions.dto';
import { DEFAULT_SECRET_OVERLAP_HOURS, OutboundEvents } from './outbound-events.service';

const DISABLED = {
  type: ErrorBodyDto,
  description: 'EVENT_SUBSCRIPTION_DISABLED: the subscription was stopped; create a new one.',
};

@ApiTags('Events')
@RequireScopes('keys:admin')
@Controller('v1/event-subscriptions')
export class EventSubscriptionsController {
  constructor(private readonly events: OutboundEvents) {}

  @Post()
  @ApiOperation({
    summary: 'Subscribe a URL to events',
    description:
      'Delivered at least once, HMAC-signed (X-Payments-Signature), retried with back-off. Redirects are not followed. ' +
      'Loopback, link-local, unspecified, multicast and reserved addresses are refused, private ones unless allowed by EVENTS_ALLOWED_DESTINATIONS; ' +
      'the check is repeated on every delivery.',
  })
  @ApiCreatedResponse({ type: CreatedSubscriptionDto })
  @ApiUnprocessableEntityResponse({
    type: ErrorBodyDto,
    description:
      'DESTINATION_NOT_ALLOWED: the URL points where events may not go (details name the field and the reason).',
  })
  async create(
    @Body() body: CreateSubscriptionDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<CreatedSubscriptionDto> {
    const { subscription, secret } = await this.events.subscribe(
      body.url,
      body.events ?? DEFAULT_SUBSCRIBED_EVENTS,
      principal.keyId,
    );
    return { ...SubscriptionDto.from(subscription), secret };
  }

  @Get()
  @ApiOperation({
    summary: 'List event subscriptions',
    description: 'Active subscriptions; their signing secrets are never shown again.',
  })
  @ApiOkResponse({ type: SubscriptionDto, isArray: true })
  async list(): Promise<SubscriptionDto[]> {
    return (await this.events.list()).map((subscription) => SubscriptionDto.from(subscription));
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({
    summary: 'Stop an event subscription',
    description: 'No event is delivered to it afterwards. Idempotent: stopping a stopped subscription answers 204 too.',
  })
  @ApiNoContentResponse({ description: 'Stopped.' })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  async remove(@Param('id', uuidParam()) id: string): Promise<void> {
    await this.events.disable(id);
  }

  @Get(':id/deliveries')
  @ApiOperation({
    summary: 'List what was sent to a subscription',
    description:
      'Each delivery of an event to this subscription, newest first: attempts, the receiver’s last status and latency, the last error, ' +
      'and the event exactly as sent. Cursor-paginated; filter by status.',
  })
  @ApiOkResponse({ type: DeliveryPageDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  async deliveries(
    @Param('id', uuidParam()) id: string,
    @Query() query: ListDeliveriesQueryDto,
  ): Promise<DeliveryPageDto> {
    const limit = query.limit ?? 20;
    const page = await this.events.deliveries(id, {
      status: query.status,
      beforeId: query.cursor && decodeIdCursor('d', query.cursor),
      limit,
    });
    const last = page.items[page.items.length - 1];
    return {
      items: page.items.map((delivery) => DeliveryDto.from(delivery)),
      nextCursor: page.more && last ? encodeIdCursor('d', last.id) : null,
    };
  }

  @Post(':id/deliveries/:deliveryId/redeliver')
  @HttpCode(202)
  @ApiParam({ name: 'deliveryId', schema: { type: 'string', pattern: '^[0-9]{1,18}$' } })
  @ApiOperation({
    summary: 'Send a delivered or failed event again',
    description:
      'A new delivery of the same event (same payload and event id, so receivers can deduplicate), due now and retried like any other. ' +
      'The original keeps its history; the new one names it in redeliveryOf. Refused (409) while a delivery of the event is still being tried.',
  })
  @ApiAcceptedResponse({ type: DeliveryDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  @ApiConflictResponse({
    type: ErrorBodyDto,
    description:
      'EVENT_SUBSCRIPTION_DISABLED: the subscription was stopped; create a new one. ' +
      'DELIVERY_STILL_PENDING: a delivery of this event (details.deliveryId) is still being tried; redeliver once it is delivered or has failed.',
  })
  async redeliver(
    @Param('id', uuidParam()) id: string,
    @Param('deliveryId', digitsParam('deliveryId')) deliveryId: string,
  ): Promise<DeliveryDto> {
    return DeliveryDto.from(await this.events.redeliver(id, deliveryId));
  }

  @Post(':id/ping')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Send a test event now and see how it went',
    description:
      'Sends one signed `ping` event (whatever types the subscription chose) and answers after the attempt with its status, latency and error. ' +
      'Never retried; it stays in the deliveries list.',
  })
  @ApiOkResponse({ type: DeliveryDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  @ApiConflictResponse(DISABLED)
  async ping(@Param('id', uuidParam()) id: string): Promise<DeliveryDto> {
    return DeliveryDto.from(await this.events.ping(id));
  }

  @Post(':id/rotate-secret')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Replace the signing secret, with an overlap',
    description:
      'Answers the new secret once. Until previousSecretExpiresAt, every event carries two v1 signatures (new secret first, then the replaced one), ' +
      'so a receiver still verifying with the old secret keeps accepting events while it switches.',
  })
  @ApiOkResponse({ type: CreatedSubscriptionDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto })
  @ApiConflictResponse(DISABLED)
  async rotateSecret(
    @Param('id', uuidParam()) id: string,
    @Body() body: RotateSecretDto,
  ): Promise<CreatedSubscriptionDto> {
    const { subscription, secret } = await this.events.rotateSecret(
      id,
      body.overlapHours ?? DEFAULT_SECRET_OVERLAP_HOURS,
    );
    return { ...SubscriptionDto.from(subscription), secret };
  }
}
