import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, IsNull } from 'typeorm';
import type { Transaction } from '../../database/unit-of-work';
import type { EventSubscription, NewEventSubscription } from '../domain/event-subscription';
import { EventSubscriptionEntity, OutboundEventEntity } from '../outbound-event.entity';

/** An outbox row claimed for delivery, with the subscription it goes to. */
export interface PendingDelivery {
  id: string;
  subscription: EventSubscription;
  payload: Record<string, unknown>;
  attempts: number;
}

export type DeliveryOutcome =
  { delivered: true; attempts: number } | { delivered: false; attempts: number; error: string; nextAttemptAt: Date };

/** event_subscriptions and the outbox (outbound_events). */
@Injectable()
export class OutboundEventsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async insertSubscription(subscription: NewEventSubscription): Promise<EventSubscription> {
    const repository = this.dataSource.getRepository(EventSubscriptionEntity);
    const { sealedSecret, ...fields } = subscription;
    const row = repository.create({ ...fields, ...sealedSecret, disabledAt: null });
    // insert() fills createdAt from its RETURNING.
    await repository.insert(row);
    return toSubscription(row);
  }

  async activeSubscriptions(): Promise<EventSubscription[]> {
    const rows = await this.dataSource
      .getRepository(EventSubscriptionEntity)
      .find({ where: { disabledAt: IsNull() }, order: { createdAt: 'ASC' } });
    return rows.map(toSubscription);
  }

  /**
   * Disables an active subscription and marks its undelivered events with `reason`, in one
   * transaction; false when no active subscription has this id.
   */
  async disableSubscription(id: string, reason: string): Promise<boolean> {
    return this.dataSource.transaction(async (manager) => {
      const result = await manager
        .getRepository(EventSubscriptionEntity)
        .update({ id, disabledAt: IsNull() }, { disabledAt: new Date() });
      if (!result.affected) return false;
      await manager
        .getRepository(OutboundEventEntity)
        .update({ subscriptionId: id, deliveredAt: IsNull() }, { lastError: reason });
      return true;
    });
  }

  /** One outbox row per active subscription to `type`, inside the caller's transaction. */
  async enqueue(transaction: Transaction, type: string, payload: Record<string, unknown>): Promise<void> {
    await transaction.query(enqueueEventSql('$1', '$2'), [type, JSON.stringify(payload)]);
  }

  /**
   * Claims up to `batch` due events of active subscriptions for a short lease (replicas share the
   * outbox through SKIP LOCKED). EXISTS (not a join) so that FOR UPDATE locks the event rows only
   * and never blocks a concurrent disable.
   */
  async claimDue(maxAttempts: number, batch: number): Promise<string[]> {
    const due: Array<{ id: string }> = await this.dataSource.query(
      `WITH due AS (
         UPDATE outbound_events SET next_attempt_at = now() + interval '30 seconds'
          WHERE id IN (SELECT e.id FROM outbound_events e
                        WHERE e.delivered_at IS NULL AND e.attempts < $1 AND e.next_attempt_at <= now()
                          AND EXISTS (SELECT 1 FROM event_subscriptions s WHERE s.id = e.subscription_id AND s.disabled_at IS NULL)
                        ORDER BY e.id LIMIT $2 FOR UPDATE SKIP LOCKED)
         RETURNING id)
       SELECT id FROM due`,
      [maxAttempts, batch],
    );
    return due.map((row) => row.id);
  }

  /** The event with its subscription as they are now; null when either is gone. */
  async findPending(id: string): Promise<PendingDelivery | null> {
    const row = await this.dataSource
      .getRepository(OutboundEventEntity)
      .findOne({ where: { id }, relations: { subscription: true } });
    if (!row?.subscription) return null;
    return { id: row.id, subscription: toSubscription(row.subscription), payload: row.payload, attempts: row.attempts };
  }

  /** Records why an event was not sent, without counting an attempt. */
  async markUnsent(id: string, reason: string): Promise<void> {
    await this.dataSource.getRepository(OutboundEventEntity).update({ id }, { lastError: reason });
  }

  async recordAttempt(id: string, outcome: DeliveryOutcome): Promise<void> {
    await this.dataSource
      .getRepository(OutboundEventEntity)
      .update(
        { id },
        outcome.delivered
          ? { attempts: outcome.attempts, deliveredAt: new Date(), lastError: null }
          : { attempts: outcome.attempts, lastError: outcome.error, nextAttemptAt: outcome.nextAttemptAt },
      );
  }
}

function toSubscription(row: EventSubscriptionEntity): EventSubscription {
  return {
    id: row.id,
    url: row.url,
    events: row.events,
    secretLastFour: row.secretLastFour,
    sealedSecret: { masterKeyId: row.masterKeyId, wrappedDataKey: row.wrappedDataKey, ciphertext: row.ciphertext },
    createdAt: row.createdAt,
    createdByKeyId: row.createdByKeyId,
    disabledAt: row.disabledAt,
  };
}

/**
 * The outbox insert: one row per active subscription to the event's type. `type` and `payload`
 * are the statement's placeholders for them. With `whenRowsIn` (a CTE of the same statement), the
 * event is written only if that CTE yields a row: how a change and the event reporting it commit
 * in one statement (see PayoutsRepository.commitIfUnchanged).
 */
export function enqueueEventSql(type: string, payload: string, whenRowsIn?: string): string {
  return `INSERT INTO outbound_events (subscription_id, type, payload, next_attempt_at)
       SELECT id, ${type}::text, ${payload}::jsonb, now() FROM event_subscriptions
        WHERE disabled_at IS NULL AND ${type}::text = ANY(events)${whenRowsIn ? ` AND EXISTS (SELECT 1 FROM ${whenRowsIn})` : ''}`;
}
