import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { DataSource, EntityManager, IsNull } from 'typeorm';
import { ApiError } from '../common/errors/api-error';
import { PeriodicTask } from '../common/periodic-task';
import { Environment } from '../config/environment';
import { open, seal } from '../credentials/crypto/envelope';
import { MasterKeyring } from '../credentials/crypto/master-keyring';
import { EventSubscriptionEntity, OutboundEventEntity } from './outbound-event.entity';

export const EVENT_TYPES = ['payout.status_changed'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

const MAX_ATTEMPTS = 15;
const BATCH = 50;
const DELIVERY_TIMEOUT_MS = 10_000;

/** `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + body)>`: the receiver checks it and the age of t. */
export function eventSignature(secret: string, timestamp: number, body: string): string {
  return `t=${timestamp},v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * Events for internal services: written to an outbox in the same transaction as the change they
 * report, delivered at least once to each subscription, HMAC-signed, retried with back-off.
 */
@Injectable()
export class OutboundEvents implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('OutboundEvents');
  private readonly dispatcher = new PeriodicTask(
    () => this.dispatch(),
    (error) => this.logger.warn({ error: String(error) }, 'event dispatch failed'),
  );

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly keyring: MasterKeyring,
    private readonly environment: Environment,
  ) {}

  onApplicationBootstrap(): void {
    this.dispatcher.start(Math.min(this.environment.RECONCILE_INTERVAL_MS, 1_000));
  }

  onModuleDestroy(): Promise<void> {
    return this.dispatcher.stop();
  }

  async subscribe(url: string, events: EventType[], createdByKeyId: string | null): Promise<{ subscription: EventSubscriptionEntity; secret: string }> {
    const id = randomUUID();
    const secret = 'whsec_' + randomBytes(24).toString('base64url');
    const sealed = seal(this.keyring, id, Buffer.from(secret, 'utf8'));
    const subscription = this.dataSource.getRepository(EventSubscriptionEntity).create({
      id,
      url,
      events,
      secretLastFour: secret.slice(-4),
      ...sealed,
      createdByKeyId,
      disabledAt: null,
    });
    await this.dataSource.getRepository(EventSubscriptionEntity).insert(subscription);
    return { subscription, secret };
  }

  list(): Promise<EventSubscriptionEntity[]> {
    return this.dataSource.getRepository(EventSubscriptionEntity).find({ where: { disabledAt: IsNull() }, order: { createdAt: 'ASC' } });
  }

  async disable(id: string): Promise<void> {
    const result = await this.dataSource.getRepository(EventSubscriptionEntity).update({ id, disabledAt: IsNull() }, { disabledAt: new Date() });
    if (!result.affected) throw ApiError.notFound('event subscription', id);
  }

  /** Call inside the transaction that makes the change: one outbox row per interested subscription. */
  async enqueue(manager: EntityManager, type: EventType, data: Record<string, unknown>): Promise<void> {
    const payload = { id: randomUUID(), type, occurredAt: new Date().toISOString(), data };
    await manager.query(
      `INSERT INTO outbound_events (subscription_id, type, payload, next_attempt_at)
       SELECT id, $1::text, $2::jsonb, now() FROM event_subscriptions WHERE disabled_at IS NULL AND $1::text = ANY(events)`,
      [type, JSON.stringify(payload)],
    );
  }

  /** One delivery pass (replicas share the outbox through SKIP LOCKED and a short lease). */
  async dispatch(): Promise<number> {
    const due: Array<{ id: string }> = await this.dataSource.query(
      `WITH due AS (
         UPDATE outbound_events SET next_attempt_at = now() + interval '30 seconds'
          WHERE id IN (SELECT id FROM outbound_events WHERE delivered_at IS NULL AND attempts < $1 AND next_attempt_at <= now()
                        ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)
         RETURNING id)
       SELECT id FROM due`,
      [MAX_ATTEMPTS, BATCH],
    );
    await Promise.all(due.map(({ id }) => this.deliver(id)));
    return due.length;
  }

  private async deliver(id: string): Promise<void> {
    const event = await this.dataSource.getRepository(OutboundEventEntity).findOne({ where: { id }, relations: { subscription: true } });
    if (!event?.subscription) return;
    const secret = open(this.keyring, event.subscriptionId, event.subscription).toString('utf8');
    const body = JSON.stringify(event.payload);
    const timestamp = Math.floor(Date.now() / 1000);
    let error: string | null = null;
    try {
      const response = await fetch(event.subscription.url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'X-Payments-Event-Id': String(event.payload.id),
          'X-Payments-Signature': eventSignature(secret, timestamp, body),
        },
        body,
        signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
      });
      if (!response.ok) error = `HTTP ${response.status}`;
      await response.body?.cancel();
    } catch (failure) {
      error = failure instanceof Error ? failure.message.slice(0, 200) : 'delivery failed';
    }
    const attempts = event.attempts + 1;
    await this.dataSource.getRepository(OutboundEventEntity).update(
      { id },
      error
        ? { attempts, lastError: error, nextAttemptAt: new Date(Date.now() + Math.min(1_000 * 2 ** attempts, 3_600_000)) }
        : { attempts, deliveredAt: new Date(), lastError: null },
    );
  }
}
