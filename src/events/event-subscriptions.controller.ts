import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { ArrayNotEmpty, IsArray, IsIn, IsOptional, Matches, MaxLength } from 'class-validator';
import { CurrentPrincipal, RequireScopes } from '../common/auth/auth.decorators';
import type { Principal } from '../common/auth/scopes';
import { ErrorBodyDto } from '../common/errors/error-body.dto';
import { uuidParam } from '../common/http/uuid-param.pipe';
import type { EventSubscription } from './domain/event-subscription';
import { EVENT_TYPES, EventType, OutboundEvents } from './outbound-events.service';

class CreateSubscriptionDto {
  // The pattern only checks the shape; where the URL may point is decided by DestinationPolicy.
  @ApiProperty({
    example: 'https://ledger.internal.example/payout-events',
    description:
      'http(s) URL without user:password@; https only in production. Must resolve to public addresses, or to ranges or a host name the operator allows in EVENTS_ALLOWED_DESTINATIONS.',
  })
  @Matches(/^https?:\/\/[^\s/]+(\/\S*)?$/, { message: 'must be an http(s) URL' })
  @MaxLength(2048)
  url!: string;

  @ApiPropertyOptional({ enum: EVENT_TYPES, isArray: true, default: ['payout.status_changed'] })
  @IsOptional()
  @IsArray()
  @ArrayNotEmpty()
  @IsIn(EVENT_TYPES, { each: true })
  events?: EventType[];
}

class SubscriptionDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty()
  url!: string;

  @ApiProperty({ enum: EVENT_TYPES, isArray: true })
  events!: string[];

  @ApiProperty({ example: '…x9Qa' })
  secretHint!: string;

  @ApiProperty({ type: String, format: 'date-time' })
  createdAt!: string;

  static from(entity: EventSubscription): SubscriptionDto {
    return {
      id: entity.id,
      url: entity.url,
      events: entity.events,
      secretHint: `…${entity.secretLastFour}`,
      createdAt: entity.createdAt.toISOString(),
    };
  }
}

class CreatedSubscriptionDto extends SubscriptionDto {
  @ApiProperty({
    description: 'Shown once. Verify X-Payments-Signature: t=<unix>,v1=hex(HMAC-SHA256(secret, t + "." + body)).',
  })
  secret!: string;
}

@ApiTags('Events')
@RequireScopes('keys:admin')
@Controller('v1/event-subscriptions')
export class EventSubscriptionsController {
  constructor(private readonly events: OutboundEvents) {}

  @Post()
  @ApiOperation({
    summary: 'Subscribe a URL to payout events',
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
      body.events ?? ['payout.status_changed'],
      principal.keyId,
    );
    return { ...SubscriptionDto.from(subscription), secret };
  }

  @Get()
  @ApiOperation({
    summary: 'List event subscriptions',
    description: 'Active and stopped subscriptions; their signing secrets are never shown again.',
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
}
