import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** Every inbound notification, verified or not, deduplicated per provider. */
@Entity({ name: 'webhook_deliveries' })
@Index('uq_webhook_deliveries_delivery', ['provider', 'deliveryId'], { unique: true })
export class WebhookDeliveryEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'varchar', length: 16 })
  provider!: string;

  @Column({ type: 'varchar', length: 16, nullable: true })
  environment!: string | null;

  @Column({ name: 'delivery_id', type: 'varchar', length: 300 })
  deliveryId!: string;

  @Column({ name: 'payout_id', type: 'uuid', nullable: true })
  payoutId!: string | null;

  @Column({ type: 'varchar', length: 32 })
  outcome!: string;

  @CreateDateColumn({ name: 'received_at', type: 'timestamptz' })
  receivedAt!: Date;
}
