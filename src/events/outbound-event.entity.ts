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
}

/**
 * The outbox: written in the same transaction as the payout change it reports, so an event is
 * never lost and never announced for a change that did not commit.
 */
@Entity({ name: 'outbound_events' })
@Index('ix_outbound_events_due', ['deliveredAt', 'nextAttemptAt'])
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

  @Column({ name: 'next_attempt_at', type: 'timestamptz' })
  nextAttemptAt!: Date;

  @Column({ name: 'delivered_at', type: 'timestamptz', nullable: true })
  deliveredAt!: Date | null;

  @Column({ name: 'last_error', type: 'varchar', length: 300, nullable: true })
  lastError!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
