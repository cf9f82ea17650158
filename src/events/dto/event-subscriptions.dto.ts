import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayNotEmpty, IsArray, IsIn, IsInt, IsOptional, Matches, Max, MaxLength, Min } from 'class-validator';
import { CursorPageQueryDto } from '../../common/http/cursor-page-query.dto';
import { DELIVERY_STATUSES, type DeliveryStatus, EventDelivery, EventSubscription } from '../domain/event-subscription';
import { EVENT_TYPES, EventType, PING_EVENT } from '../domain/event-types';

export const DEFAULT_SUBSCRIBED_EVENTS: EventType[] = ['payout.status_changed'];

export class CreateSubscriptionDto {
  // The pattern only checks the shape; where the URL may point is decided by DestinationPolicy.
  @ApiProperty({
    example: 'https://ledger.internal.example/payout-events',
    description:
      'http(s) URL without user:password@; https only in production. Must resolve to public addresses, or to ranges or a host name the operator allows in EVENTS_ALLOWED_DESTINATIONS.',
  })
  @Matches(/^https?:\/\/[^\s/]+(\/\S*)?$/, { message: 'must be an http(s) URL' })
  @MaxLength(2048)
  url!: string;

  @ApiPropertyOptional({
    enum: EVENT_TYPES,
    isArray: true,
    default: DEFAULT_SUBSCRIBED_EVENTS,
    description:
      'The event types to receive. payout.status_changed reports every move of a payout; payout.created, payout.pending_approval and ' +
      'the final states (payout.completed, .failed, .rejected, .cancelled) are sent beside it for receivers that wait for one moment only.',
  })
  @IsOptional()
  @IsArray()
  @ArrayNotEmpty()
  @IsIn(EVENT_TYPES, { each: true })
  events?: EventType[];
}

export class RotateSecretDto {
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    maximum: 168,
    default: 24,
    description:
      'How long the replaced secret keeps signing beside the new one (both v1 signatures in X-Payments-Signature). 0 stops it at once.',
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(168)
  overlapHours?: number;
}

export class SubscriptionDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty()
  url!: string;

  @ApiProperty({ enum: EVENT_TYPES, isArray: true })
  events!: string[];

  @ApiProperty({ example: '…x9Qa', description: 'The last four characters of the current signing secret.' })
  secretHint!: string;

  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description:
      'Until when the secret replaced by the last rotation still signs beside the current one; null when it no longer does.',
  })
  previousSecretExpiresAt!: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  secretRotatedAt!: string | null;

  @ApiProperty({ type: String, format: 'date-time' })
  createdAt!: string;

  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'Set when the subscription was stopped.',
  })
  disabledAt!: string | null;

  static from(entity: EventSubscription, now = new Date()): SubscriptionDto {
    const overlapEnds = entity.previousSecretExpiresAt;
    return {
      id: entity.id,
      url: entity.url,
      events: entity.events,
      secretHint: `…${entity.secretLastFour}`,
      previousSecretExpiresAt: overlapEnds && overlapEnds > now ? overlapEnds.toISOString() : null,
      secretRotatedAt: entity.secretRotatedAt?.toISOString() ?? null,
      createdAt: entity.createdAt.toISOString(),
      disabledAt: entity.disabledAt?.toISOString() ?? null,
    };
  }
}

export class CreatedSubscriptionDto extends SubscriptionDto {
  @ApiProperty({
    description:
      'Shown once. Verify X-Payments-Signature: t=<unix>,v1=hex(HMAC-SHA256(secret, t + "." + body)); during a rotation overlap it carries ' +
      'one v1 per signing secret, and the event is genuine when any of them matches.',
  })
  secret!: string;
}

export class ListDeliveriesQueryDto extends CursorPageQueryDto {
  @ApiPropertyOptional({ enum: DELIVERY_STATUSES })
  @IsOptional()
  @IsIn(DELIVERY_STATUSES)
  status?: DeliveryStatus;
}

export class DeliveryDto {
  @ApiProperty({ example: '1042', pattern: '^[0-9]+$', description: 'The delivery (one event to one subscription).' })
  id!: string;

  @ApiProperty({ format: 'uuid', description: 'The event id (X-Payments-Event-Id); a redelivery has its original’s.' })
  eventId!: string;

  @ApiProperty({ enum: [...EVENT_TYPES, PING_EVENT] })
  type!: string;

  @ApiProperty({
    enum: DELIVERY_STATUSES,
    description:
      'pending: being attempted; delivered: a 2xx was received; failed: every attempt failed (redeliver to try again); ' +
      'stopped: the subscription was disabled first.',
  })
  status!: DeliveryStatus;

  @ApiProperty({ type: 'integer', example: 1 })
  attempts!: number;

  @ApiProperty({ type: 'integer', example: 15, description: '1 for a ping.' })
  maxAttempts!: number;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  lastAttemptAt!: string | null;

  @ApiProperty({
    type: 'integer',
    nullable: true,
    example: 200,
    description: 'The receiver’s HTTP status on the last attempt; null when no answer came.',
  })
  responseStatus!: number | null;

  @ApiProperty({ type: 'integer', nullable: true, example: 12, description: 'Milliseconds of the last attempt.' })
  latencyMs!: number | null;

  @ApiProperty({ type: String, nullable: true, example: 'HTTP 503' })
  lastError!: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'Set while pending.' })
  nextAttemptAt!: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  deliveredAt!: string | null;

  @ApiProperty({ type: String, format: 'date-time' })
  createdAt!: string;

  @ApiProperty({ type: String, nullable: true, pattern: '^[0-9]+$', description: 'The delivery this one sends again.' })
  redeliveryOf!: string | null;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'The event exactly as sent: {id, type, occurredAt, data}.',
  })
  payload!: Record<string, unknown>;

  static from(delivery: EventDelivery): DeliveryDto {
    const iso = (date: Date | null) => date?.toISOString() ?? null;
    return {
      id: delivery.id,
      eventId: delivery.eventId,
      type: delivery.type,
      status: delivery.status,
      attempts: delivery.attempts,
      maxAttempts: delivery.maxAttempts,
      lastAttemptAt: iso(delivery.lastAttemptAt),
      responseStatus: delivery.lastResponseStatus,
      latencyMs: delivery.lastLatencyMs,
      lastError: delivery.lastError,
      nextAttemptAt: iso(delivery.nextAttemptAt),
      deliveredAt: iso(delivery.deliveredAt),
      createdAt: delivery.createdAt.toISOString(),
      redeliveryOf: delivery.redeliveryOf,
      payload: delivery.payload,
    };
  }
}

export class DeliveryPageDto {
  @ApiProperty({ type: DeliveryDto, isArray: true })
  items!: DeliveryDto[];

  @ApiProperty({ type: String, nullable: true, description: 'Pass as cursor for the next page; null on the last one.' })
  nextCursor!: string | null;
}
