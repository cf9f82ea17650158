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

  /**
   * A verified notification's bookkeeping in one statement, one round trip: the delivery record
   * and the payout's status-fetch slot (payouts.webhook_fetch_at, which exists for this: at most
   * one fetch per payout per `intervalMs`, on any replica).
   * - `dedupe: 'by-delivery-id'` (the provider authenticates a delivery id): the record comes
   *   first and a delivery seen before takes no slot ('duplicate').
   * - `dedupe: 'none'`: the slot comes first and only a fetch is recorded (the fetch is the delivery worth recording).
   * 'taken' when a fetch happened within the interval.
   */
  async recordAndClaimFetch(
    delivery: WebhookDelivery & { payoutId: string },
    options: { intervalMs: number; dedupe: 'by-delivery-id' | 'none' },
  ): Promise<'claimed' | 'taken' | 'duplicate'> {
    const record = `INSERT INTO webhook_deliveries (provider, environment, delivery_id, payout_id, outcome)`;
    const slot = `UPDATE payouts SET webhook_fetch_at = now()
          WHERE id = $4::uuid AND (webhook_fetch_at IS NULL OR webhook_fetch_at <= now() - $6::int * interval '1 millisecond')`;
    const sql =
      options.dedupe === 'by-delivery-id'
        ? `WITH delivery AS (
             ${record} VALUES ($1::varchar, $2::varchar, $3::varchar, $4::uuid, $5::varchar)
             ON CONFLICT (provider, delivery_id) DO NOTHING RETURNING id
           ), slot AS (${slot} AND EXISTS (SELECT 1 FROM delivery) RETURNING id)
           SELECT EXISTS (SELECT 1 FROM delivery) AS recorded, EXISTS (SELECT 1 FROM slot) AS claimed`
        : `WITH slot AS (${slot} RETURNING id), delivery AS (
             ${record} SELECT $1::varchar, $2::varchar, $3::varchar, id, $5::varchar FROM slot
             ON CONFLICT (provider, delivery_id) DO NOTHING
           )
           SELECT true AS recorded, EXISTS (SELECT 1 FROM slot) AS claimed`;
    const [row]: Array<{ recorded: boolean; claimed: boolean }> = await this.dataSource.query(sql, [
      delivery.provider,
      delivery.environment,
      delivery.deliveryId,
      delivery.payoutId,
      delivery.outcome,
      options.intervalMs,
    ]);
    return !row.recorded ? 'duplicate' : row.claimed ? 'claimed' : 'taken';
  }
}
