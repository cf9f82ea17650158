import {
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryColumn,
  PrimaryGeneratedColumn,
} from 'typeorm';

/** Where internal services want payout events; the signing secret is sealed like any credential. */
@Entity({ name: 'event_subscriptions' })
export class EventSubscriptionEntity {
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @Column({ type: 'varchar', length: 2048 })
  url!: string;

  @Column({ type: 'text', array: true })
  events!: string[];

  @Column({ name: 'secret_last_four', type: 'varchar', length: 4 })
  secretLastFour!: string;

  @Column({ name: 'master_key_id', type: 'varchar', length: 32 })
  masterKeyId!: string;

  @Column({ name: 'wrapped_data_key', type: 'bytea' })
  wrappedDataKey!: Buffer;

  @Column({ type: 'bytea' })
  ciphertext!: Buffer;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'created_by_key_id', type: 'uuid', nullable: true })
  createdByKeyId!: string | null;

  @Column({ name: 'disabled_at', type: 'timestamptz', nullable: true })
  disabledAt!: Date | null;

  // The secret a rotation replaced: it keeps signing beside the new one until it expires, so
  // receivers can switch at their pace. Sealed like the current one (context `<id>/previous`).
  @Column({ name: 'previous_master_key_id', type: 'varchar', length: 32, nullable: true })
  previousMasterKeyId!: string | null;

  @Column({ name: 'previous_wrapped_data_key', type: 'bytea', nullable: true })
  previousWrappedDataKey!: Buffer | null;

  @Column({ name: 'previous_ciphertext', type: 'bytea', nullable: true })
  previousCiphertext!: Buffer | null;

  @Column({ name: 'previous_secret_expires_at', type: 'timestamptz', nullable: true })
  previousSecretExpiresAt!: Date | null;

  @Column({ name: 'secret_rotated_at', type: 'timestamptz', nullable: true })
  secretRotatedAt!: Date | null;
}

/**
 * The outbox: written in the same transaction as the payout change it reports, so an event is
 * never lost and never announced for a change that did not commit.
 */
@Entity({ name: 'outbound_events' })
// The claim's order (most overdue first, then id) over the undelivered rows only: a claim reads the
// rows it ranks, however long the backlog (see the OutboxPendingIndex migration).
@Index('ix_outbound_events_pending', ['nextAttemptAt', 'id'], { where: 'delivered_at IS NULL' })
@Index('ix_outbound_events_subscription', ['subscriptionId', 'id'])
export class OutboundEventEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @Column({ name: 'subscription_id', type: 'uuid' })
  subscriptionId!: string;

  @ManyToOne(() => EventSubscriptionEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'subscription_id', foreignKeyConstraintName: 'fk_outbound_events_subscription' })
  subscription?: EventSubscriptionEntity;

  @Column({ type: 'varchar', length: 60 })
  type!: string;

  @Column({ type: 'jsonb' })
  payload!: Record<string, unknown>;

  @Column({ type: 'int', default: 0 })
  attempts!: number;

  /** 15 for events; 1 for a ping, which reports its one attempt and is never retried. */
  @Column({ name: 'max_attempts', type: 'smallint', default: 15 })
  maxAttempts!: number;

  @Column({ name: 'next_attempt_at', type: 'timestamptz' })
  nextAttemptAt!: Date;

  @Column({ name: 'delivered_at', type: 'timestamptz', nullable: true })
  deliveredAt!: Date | null;

  @Column({ name: 'last_error', type: 'varchar', length: 300, nullable: true })
  lastError!: string | null;

  @Column({ name: 'last_attempt_at', type: 'timestamptz', nullable: true })
  lastAttemptAt!: Date | null;

  /** The receiver's HTTP status on the last attempt; null when no answer came (refused, timed out, reset). */
  @Column({ name: 'last_response_status', type: 'smallint', nullable: true })
  lastResponseStatus!: number | null;

  /** From sending the request to the answer's status line (or the failure), on the last attempt. */
  @Column({ name: 'last_latency_ms', type: 'int', nullable: true })
  lastLatencyMs!: number | null;

  /** The delivery this one sends again (POST …/deliveries/{id}/redeliver); the same event, the same event id. */
  @Column({ name: 'redelivery_of', type: 'bigint', nullable: true })
  redeliveryOf!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
