import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

export interface WebhookDelivery {
  provider: string;
  environment: string | null;
  deliveryId: string;
  payoutId: string | null;
  outcome: string;
}

/** webhook_deliveries: one row per inbound delivery, unique per provider + delivery id (the dedup record). */
@Injectable()
export class WebhookDeliveriesRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Records the delivery; false when this provider's delivery id is already recorded. */
  async recordOnce(delivery: WebhookDelivery): Promise<boolean> {
    const rows: unknown[] = await this.dataSource.query(
      `INSERT INTO webhook_deliveries (provider, environment, delivery_id, payout_id, outcome) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (provider, delivery_id) DO NOTHING RETURNING id`,
      [delivery.provider, delivery.environment, delivery.deliveryId, delivery.payoutId, delivery.outcome],
    );
    return rows.length > 0;
  }
}
