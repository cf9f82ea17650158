import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, IsNull } from 'typeorm';
import type { SealedSecret } from '../../credentials/crypto/envelope';
import type { Transaction } from '../../database/unit-of-work';
import type {
  DeliveryStatus,
  EventDelivery,
  EventSubscription,
  NewEventSubscription,
} from '../domain/event-subscription';
import type { OutboxEvent } from '../domain/event-types';
import { EventSubscriptionEntity, OutboundEventEntity } from '../outbound-event.entity';

/** An outbox row claimed for delivery, with the subscription it goes to. */
export interface PendingDelivery {
  id: string;
  subscription: EventSubscription;
  payload: Record<string, unknown>;
  attempts: number;
  maxAttempts: number;
}

/** What one attempt gave: the receiver's status (null when none came) and how long it took. */
export interface AttemptRecord {
  attempts: number;
  responseStatus: number | null;
  latencyMs: number;
}

export type DeliveryOutcome = AttemptRecord &
  ({ delivered: true } | { delivered: false; error: string; nextAttemptAt: Date });

export interface DeliveryFilter {
  subscriptionId: string;
  status?: DeliveryStatus;
  /** Only deliveries older than this one (the cursor). */
  beforeId?: string;
  /** One more row than this is read, so the caller knows whether a next page exists. */
  limit: number;
}

/** A secret rotation as the repository stores it. */
export interface SecretRotation {
  sealedSecret: SealedSecret;
  secretLastFour: string;
  previousSealedSecret: SealedSecret | null;
  previousSecretExpiresAt: Date | null;
}

/** The delivery status, from the row and its subscription (the alias `s`), in SQL. */
// A delivery whose attempts ran out stays `failed` after its subscription is disabled: `stopped`
// is for the ones the disabling cut short.
const DELIVERY_STATUS_SQL = `CASE WHEN e.delivered_at IS NOT NULL THEN 'delivered'
            WHEN e.attempts >= e.max_attempts THEN 'failed'
            WHEN s.disabled_at IS NOT NULL THEN 'stopped'
            ELSE 'pending' END`;

const DELIVERY_COLUMNS = `e.id, e.subscription_id, e.type, e.payload, e.attempts, e.max_attempts, e.last_attempt_at,
       e.last_response_status, e.last_latency_ms, e.last_error, e.next_attempt_at, e.delivered_at, e.created_at,
       e.redelivery_of, ${DELIVERY_STATUS_SQL} AS status`;

interface DeliveryRow {
  id: string;
  subscription_id: string;
  type: string;
  payload: Record<string, unknown>;
  attempts: number;
  max_attempts: number;
  last_attempt_at: Date | null;
  last_response_status: number | null;
  last_latency_ms: number | null;
  last_error: string | null;
  next_attempt_at: Date;
  delivered_at: Date | null;
  created_at: Date;
  redelivery_of: string | null;
  status: DeliveryStatus;
}

/** event_subscriptions and the outbox (outbound_events). */
@Injectable()
export class OutboundEventsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async insertSubscription(subscription: NewEventSubscription): Promise<EventSubscription> {
    const repository = this.dataSource.getRepository(EventSubscriptionEntity);
    const { sealedSecret, ...fields } = subscription;
    const row = repository.create({
      ...fields,
      ...sealedSecret,
      disabledAt: null,
      previousMasterKeyId: null,
      previousWrappedDataKey: null,
      previousCiphertext: null,
      previousSecretExpiresAt: null,
      secretRotatedAt: null,
    });
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

  /** Active or disabled; null when no subscription has this id. */
  async findSubscription(id: string): Promise<EventSubscription | null> {
    const row = await this.dataSource.getRepository(EventSubscriptionEntity).findOneBy({ id });
    return row ? toSubscription(row) : null;
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
      // Only deliveries still being tried: one whose attempts ran out keeps the error it failed with.
      await manager.query(
        `UPDATE outbound_events SET last_error = $2
          WHERE subscription_id = $1::uuid AND delivered_at IS NULL AND attempts < max_attempts`,
        [id, reason],
      );
      return true;
    });
  }

  /**
   * Replaces an active subscription's signing secrets, on its row lock: `rotate` gets the
   * subscription as it is and answers what to store. Null when no active subscription has this id.
   */
  async rotateSecret(
    id: string,
    rotate: (current: EventSubscription) => SecretRotation,
  ): Promise<EventSubscription | null> {
    return this.dataSource.transaction(async (manager) => {
      const repository = manager.getRepository(EventSubscriptionEntity);
      const row = await repository.findOne({
        where: { id, disabledAt: IsNull() },
        lock: { mode: 'pessimistic_write' },
      });
      if (!row) return null;
      const rotation = rotate(toSubscription(row));
      const changes: Partial<EventSubscriptionEntity> = {
        ...rotation.sealedSecret,
        secretLastFour: rotation.secretLastFour,
        previousMasterKeyId: rotation.previousSealedSecret?.masterKeyId ?? null,
        previousWrappedDataKey: rotation.previousSealedSecret?.wrappedDataKey ?? null,
        previousCiphertext: rotation.previousSealedSecret?.ciphertext ?? null,
        previousSecretExpiresAt: rotation.previousSecretExpiresAt,
        secretRotatedAt: new Date(),
      };
      await repository.update({ id }, changes);
      return toSubscription(Object.assign(row, changes));
    });
  }

  /**
   * Subscriptions (active or disabled) with a signing secret, current or replaced, wrapped under
   * another master key than `currentKeyId`; by id, after `after`.
   */
  async secretsSealedUnderOtherKey(
    currentKeyId: string,
    after: string,
    limit: number,
  ): Promise<
    Array<{ id: string; disabled: boolean; sealedSecret: SealedSecret; previousSealedSecret: SealedSecret | null }>
  > {
    const rows: Array<{
      id: string;
      disabled: boolean;
      master_key_id: string;
      wrapped_data_key: Buffer;
      ciphertext: Buffer;
      previous_master_key_id: string | null;
      previous_wrapped_data_key: Buffer | null;
      previous_ciphertext: Buffer | null;
    }> = await this.dataSource.query(
      `SELECT id, disabled_at IS NOT NULL AS disabled, master_key_id, wrapped_data_key, ciphertext,
              previous_master_key_id, previous_wrapped_data_key, previous_ciphertext
         FROM event_subscriptions
        WHERE id > $1::uuid AND (master_key_id <> $2 OR previous_master_key_id <> $2)
        ORDER BY id LIMIT $3`,
      [after, currentKeyId, limit],
    );
    return rows.map((row) => ({
      id: row.id,
      disabled: row.disabled,
      sealedSecret: {
        masterKeyId: row.master_key_id,
        wrappedDataKey: row.wrapped_data_key,
        ciphertext: row.ciphertext,
      },
      previousSealedSecret:
        row.previous_master_key_id && row.previous_wrapped_data_key && row.previous_ciphertext
          ? {
              masterKeyId: row.previous_master_key_id,
              wrappedDataKey: row.previous_wrapped_data_key,
              ciphertext: row.previous_ciphertext,
            }
          : null,
    }));
  }

  /**
   * Stores re-wrapped data keys of a subscription's secrets, each only while the row still holds
   * the wrapped key it was made from (a rotation meanwhile wrote a new secret: that one stays).
   * The ciphertexts do not change. True when anything was written.
   */
  async storeRewrappedSecrets(
    id: string,
    rewrapped: {
      current: { from: SealedSecret; to: SealedSecret } | null;
      previous: { from: SealedSecret; to: SealedSecret } | null;
    },
  ): Promise<boolean> {
    const { current, previous } = rewrapped;
    if (!current && !previous) return false;
    // Every CASE reads the row as it was before this UPDATE, so each pair moves together or not at
    // all. In a CTE: TypeORM answers a bare UPDATE with [rows, count], a SELECT with its rows.
    const rows: unknown[] = await this.dataSource.query(
      `WITH moved AS (UPDATE event_subscriptions SET
          master_key_id = CASE WHEN wrapped_data_key = $2 THEN $3 ELSE master_key_id END,
          wrapped_data_key = CASE WHEN wrapped_data_key = $2 THEN $4 ELSE wrapped_data_key END,
          previous_master_key_id = CASE WHEN previous_wrapped_data_key = $5 THEN $6 ELSE previous_master_key_id END,
          previous_wrapped_data_key = CASE WHEN previous_wrapped_data_key = $5 THEN $7 ELSE previous_wrapped_data_key END
        WHERE id = $1::uuid AND (wrapped_data_key = $2 OR previous_wrapped_data_key = $5)
        RETURNING id)
       SELECT id FROM moved`,
      [
        id,
        current?.from.wrappedDataKey ?? null,
        current?.to.masterKeyId ?? null,
        current?.to.wrappedDataKey ?? null,
        previous?.from.wrappedDataKey ?? null,
        previous?.to.masterKeyId ?? null,
        previous?.to.wrappedDataKey ?? null,
      ],
    );
    return rows.length > 0;
  }

  /**
   * Forgets replaced signing secrets whose overlap has ended: they sign nothing any more, and a
   * secret kept sealed after its use is one more to protect. Answers how many were forgotten.
   */
  async forgetExpiredPreviousSecrets(): Promise<number> {
    // In a CTE: TypeORM answers a bare UPDATE with [rows, count], a SELECT with its rows.
    const forgotten: unknown[] = await this.dataSource.query(
      `WITH forgotten AS (
         UPDATE event_subscriptions SET previous_master_key_id = NULL, previous_wrapped_data_key = NULL,
                previous_ciphertext = NULL, previous_secret_expires_at = NULL
          WHERE previous_secret_expires_at <= now() RETURNING id)
       SELECT id FROM forgotten`,
    );
    return forgotten.length;
  }

  /** One outbox row per active subscription to each event's type, inside the caller's transaction. */
  enqueue(transaction: Transaction, events: readonly OutboxEvent[]): Promise<void> {
    return writeToOutbox(transaction, events);
  }

  /**
   * Claims due deliveries of active subscriptions for a short lease (replicas share the outbox
   * through SKIP LOCKED): up to `limit` in all and `perSubscription` per subscription, none of the
   * `excluding` subscriptions (those this replica is still sending to), the most overdue first. So
   * one subscription with a backlog, or one whose receiver hangs, takes a bounded share and never
   * holds up the others. EXISTS (not a join) so that FOR UPDATE locks the event rows only and never
   * blocks a concurrent disable.
   */
  async claimDue(claim: {
    limit: number;
    perSubscription: number;
    excluding: readonly string[];
  }): Promise<Array<{ id: string; subscriptionId: string }>> {
    const due: Array<{ id: string; subscription_id: string }> = await this.dataSource.query(
      // The oldest due rows first (ix_outbound_events_pending, in order, stopping at the limit), then
      // ranked per subscription: ranking the whole backlog sorted all of it on every claim.
      `WITH oldest AS (
         SELECT e.id, e.subscription_id, e.next_attempt_at FROM outbound_events e
          WHERE e.delivered_at IS NULL AND e.attempts < e.max_attempts AND e.next_attempt_at <= now()
            AND e.subscription_id <> ALL($3::uuid[])
            AND EXISTS (SELECT 1 FROM event_subscriptions s WHERE s.id = e.subscription_id AND s.disabled_at IS NULL)
          ORDER BY e.next_attempt_at, e.id LIMIT $4),
       ranked AS (
         SELECT id, row_number() OVER (PARTITION BY subscription_id ORDER BY next_attempt_at, id) AS rank FROM oldest),
       picked AS (
         -- By primary key, from the ranked ids (at most $4 of them): as a join, the planner expected
         -- all of them to pass the rank and hashed every undelivered row instead (22-27 ms per
         -- claim with 30,000 waiting, against 1.6-1.9 ms this way).
         SELECT e.id FROM outbound_events e
          WHERE e.id = ANY(ARRAY(SELECT id FROM ranked WHERE rank <= $2))
            -- Checked again on the row as locked: another replica may have claimed it since.
            AND e.delivered_at IS NULL AND e.attempts < e.max_attempts AND e.next_attempt_at <= now()
          ORDER BY e.next_attempt_at, e.id LIMIT $1 FOR UPDATE OF e SKIP LOCKED),
       claimed AS (
         UPDATE outbound_events o SET next_attempt_at = now() + interval '30 seconds'
           FROM picked WHERE o.id = picked.id
         RETURNING o.id, o.subscription_id)
       SELECT id, subscription_id FROM claimed`,
      // The window ranked: enough rows that a subscription with a backlog leaves room for others.
      [claim.limit, claim.perSubscription, claim.excluding, claim.limit * 20],
    );
    return due.map((row) => ({ id: String(row.id), subscriptionId: row.subscription_id }));
  }

  /**
   * Deliveries still to make (undelivered, attempts left, subscription active) and the age in
   * seconds of the oldest, for the outbox metrics (ix_outbound_events_pending covers the scan).
   */
  async backlog(): Promise<{ pending: number; oldestSeconds: number }> {
    const [row]: Array<{ pending: number; oldest: number | null }> = await this.dataSource.query(
      `SELECT count(*)::int AS pending, EXTRACT(EPOCH FROM now() - min(e.created_at))::float8 AS oldest
         FROM outbound_events e
        WHERE e.delivered_at IS NULL AND e.attempts < e.max_attempts
          AND EXISTS (SELECT 1 FROM event_subscriptions s WHERE s.id = e.subscription_id AND s.disabled_at IS NULL)`,
    );
    return { pending: row.pending, oldestSeconds: Math.max(0, row.oldest ?? 0) };
  }

  /** The event with its subscription as they are now; null when either is gone. */
  async findPending(id: string): Promise<PendingDelivery | null> {
    const row = await this.dataSource
      .getRepository(OutboundEventEntity)
      .findOne({ where: { id }, relations: { subscription: true } });
    if (!row?.subscription) return null;
    return {
      id: row.id,
      subscription: toSubscription(row.subscription),
      payload: row.payload,
      attempts: row.attempts,
      maxAttempts: row.maxAttempts,
    };
  }

  /** Records why an event was not sent, without counting an attempt. */
  async markUnsent(id: string, reason: string): Promise<void> {
    await this.dataSource.getRepository(OutboundEventEntity).update({ id }, { lastError: reason });
  }

  /**
   * Records one attempt. A failure is written only if the row is still at the attempt it read:
   * otherwise a replica that claimed the event after this one's lease lapsed has recorded its
   * own, and this late failure would overwrite it (or count one attempt twice). A success is
   * always written while the event is undelivered (the receiver has it, whatever the other
   * attempt said), counting attempts as the higher of the two. Answers whether it was recorded.
   */
  async recordAttempt(id: string, outcome: DeliveryOutcome): Promise<boolean> {
    const attempt = {
      lastAttemptAt: new Date(),
      lastResponseStatus: outcome.responseStatus,
      lastLatencyMs: outcome.latencyMs,
    };
    const result = outcome.delivered
      ? await this.dataSource
          .createQueryBuilder()
          .update(OutboundEventEntity)
          .set({
            ...attempt,
            attempts: () => 'GREATEST(attempts, :attempts)',
            deliveredAt: new Date(),
            lastError: null,
          })
          .where('id = :id AND delivered_at IS NULL', { id, attempts: outcome.attempts })
          .execute()
      : await this.dataSource
          .getRepository(OutboundEventEntity)
          .update(
            { id, attempts: outcome.attempts - 1, deliveredAt: IsNull() },
            { ...attempt, attempts: outcome.attempts, lastError: outcome.error, nextAttemptAt: outcome.nextAttemptAt },
          );
    return (result.affected ?? 0) > 0;
  }

  /** A subscription's deliveries, newest first, by status; one row more than the limit. */
  async deliveries(filter: DeliveryFilter): Promise<EventDelivery[]> {
    const parameters: unknown[] = [filter.subscriptionId, filter.limit + 1];
    const conditions = ['e.subscription_id = $1::uuid'];
    if (filter.beforeId) {
      parameters.push(filter.beforeId);
      conditions.push(`e.id < $${parameters.length}::bigint`);
    }
    if (filter.status) {
      parameters.push(filter.status);
      conditions.push(`${DELIVERY_STATUS_SQL} = $${parameters.length}::text`);
    }
    const rows: DeliveryRow[] = await this.dataSource.query(
      `SELECT ${DELIVERY_COLUMNS} FROM outbound_events e JOIN event_subscriptions s ON s.id = e.subscription_id
        WHERE ${conditions.join(' AND ')} ORDER BY e.id DESC LIMIT $2`,
      parameters,
    );
    return rows.map(toDelivery);
  }

  async findDelivery(subscriptionId: string, id: string): Promise<EventDelivery | null> {
    const rows: DeliveryRow[] = await this.dataSource.query(
      `SELECT ${DELIVERY_COLUMNS} FROM outbound_events e JOIN event_subscriptions s ON s.id = e.subscription_id
        WHERE e.subscription_id = $1::uuid AND e.id = $2::bigint`,
      [subscriptionId, id],
    );
    return rows.length ? toDelivery(rows[0]) : null;
  }

  /**
   * A new delivery of the same event (same payload, so the same event id: a receiver that already
   * processed it can tell) to the same, still active subscription, due now; unless a delivery of
   * that event to that subscription is still being tried (the original or an earlier redelivery):
   * then `pending` names it and nothing is written. `unavailable` when there is no such delivery or
   * the subscription is disabled. Under a transaction lock per subscription and event, so two
   * redeliveries at once (of the original, or of it and one of its redeliveries) cannot both see
   * nothing pending.
   */
  async insertRedelivery(
    subscriptionId: string,
    id: string,
  ): Promise<{ inserted: string } | { pending: string } | { unavailable: true }> {
    return this.dataSource.transaction(async (manager) => {
      const [original]: Array<{ event_id: string | null }> = await manager.query(
        `SELECT e.payload->>'id' AS event_id FROM outbound_events e
           JOIN event_subscriptions s ON s.id = e.subscription_id AND s.disabled_at IS NULL
          WHERE e.subscription_id = $1::uuid AND e.id = $2::bigint`,
        [subscriptionId, id],
      );
      if (!original) return { unavailable: true as const };
      await manager.query(`SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))`, [
        `event-redelivery:${subscriptionId}:${original.event_id ?? id}`,
      ]);
      // A statement after the lock: it sees what a redelivery that held it before committed.
      const [pending]: Array<{ id: string }> = await manager.query(
        `SELECT e.id FROM outbound_events e
          WHERE e.subscription_id = $1::uuid AND (e.id = $2::bigint OR e.payload->>'id' = $3::text)
            AND e.delivered_at IS NULL AND e.attempts < e.max_attempts
          ORDER BY e.id DESC LIMIT 1`,
        [subscriptionId, id, original.event_id],
      );
      if (pending) return { pending: String(pending.id) };
      const [inserted]: Array<{ id: string }> = await manager.query(
        `INSERT INTO outbound_events (subscription_id, type, payload, next_attempt_at, redelivery_of)
         SELECT e.subscription_id, e.type, e.payload, now(), e.id FROM outbound_events e
          WHERE e.subscription_id = $1::uuid AND e.id = $2::bigint
         RETURNING id`,
        [subscriptionId, id],
      );
      return { inserted: String(inserted.id) };
    });
  }

  /**
   * A ping for one subscription: a single attempt, leased to the caller (next_attempt_at ahead,
   * so the dispatcher does not send it too) and never retried.
   */
  async insertPing(subscriptionId: string, event: OutboxEvent): Promise<string> {
    const rows: Array<{ id: string }> = await this.dataSource.query(
      `INSERT INTO outbound_events (subscription_id, type, payload, next_attempt_at, max_attempts)
       VALUES ($1::uuid, $2::text, $3::jsonb, now() + interval '30 seconds', 1) RETURNING id`,
      [subscriptionId, event.type, JSON.stringify(event.payload)],
    );
    return rows[0].id;
  }
}

function toSubscription(row: EventSubscriptionEntity): EventSubscription {
  const previous =
    row.previousMasterKeyId && row.previousWrappedDataKey && row.previousCiphertext
      ? {
          masterKeyId: row.previousMasterKeyId,
          wrappedDataKey: row.previousWrappedDataKey,
          ciphertext: row.previousCiphertext,
        }
      : null;
  return {
    id: row.id,
    url: row.url,
    events: row.events,
    secretLastFour: row.secretLastFour,
    sealedSecret: { masterKeyId: row.masterKeyId, wrappedDataKey: row.wrappedDataKey, ciphertext: row.ciphertext },
    previousSealedSecret: previous,
    previousSecretExpiresAt: previous ? row.previousSecretExpiresAt : null,
    secretRotatedAt: row.secretRotatedAt,
    createdAt: row.createdAt,
    createdByKeyId: row.createdByKeyId,
    disabledAt: row.disabledAt,
  };
}

function toDelivery(row: DeliveryRow): EventDelivery {
  return {
    id: String(row.id),
    subscriptionId: row.subscription_id,
    eventId: typeof row.payload.id === 'string' ? row.payload.id : '',
    type: row.type,
    payload: row.payload,
    status: row.status,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    lastAttemptAt: row.last_attempt_at,
    lastResponseStatus: row.last_response_status,
    lastLatencyMs: row.last_latency_ms,
    lastError: row.last_error,
    nextAttemptAt: row.status === 'pending' ? row.next_attempt_at : null,
    deliveredAt: row.delivered_at,
    createdAt: row.created_at,
    redeliveryOf: row.redelivery_of === null ? null : String(row.redelivery_of),
  };
}

/**
 * Writes events to the outbox in the caller's transaction: for modules the events module cannot
 * be injected into (the credential vault, which the events module itself depends on).
 */
export async function writeToOutbox(transaction: Transaction, events: readonly OutboxEvent[]): Promise<void> {
  if (events.length === 0) return;
  const parameters = events.flatMap((event) => [event.type, JSON.stringify(event.payload)]);
  const placeholders = events.map((_, index) => ({ type: `$${2 * index + 1}`, payload: `$${2 * index + 2}` }));
  await transaction.query(enqueueEventsSql(placeholders), parameters);
}

/**
 * The outbox insert: one row per active subscription to each event's type. Each event is a pair
 * of the statement's placeholders (its type and its payload). With `whenRowsIn` (a CTE of the
 * same statement), the events are written only if that CTE yields a row: how a change and the
 * events reporting it commit in one statement (see PayoutsRepository.commitIfUnchanged).
 */
export function enqueueEventsSql(
  events: ReadonlyArray<{ type: string; payload: string }>,
  whenRowsIn?: string,
): string {
  const values = events.map(({ type, payload }) => `(${type}::text, ${payload}::jsonb)`).join(', ');
  return `INSERT INTO outbound_events (subscription_id, type, payload, next_attempt_at)
       SELECT s.id, e.type, e.payload, now() FROM event_subscriptions s
         JOIN (VALUES ${values}) AS e (type, payload) ON e.type = ANY(s.events)
        WHERE s.disabled_at IS NULL${whenRowsIn ? ` AND EXISTS (SELECT 1 FROM ${whenRowsIn})` : ''}`;
}
