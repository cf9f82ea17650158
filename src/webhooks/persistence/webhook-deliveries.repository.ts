import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { runPrepared } from '../../database/prepared-statements';

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
   *   first and a delivery seen before changes nothing ('duplicate').
   * - `dedupe: 'none'`: only a fetch is recorded (the fetch is the delivery worth recording).
   * 'deferred' when a fetch happened within the interval: then a check is scheduled for the end of
   * it instead (never later than one already due), so a genuine change is never missed.
   * The slot is read FOR UPDATE first, so two notifications at once (on any replicas) take turns
   * and exactly one of them gets it.
   */
  async recordAndClaimFetch(
    delivery: WebhookDelivery & { payoutId: string },
    options: { intervalMs: number; dedupe: 'by-delivery-id' | 'none' },
  ): Promise<'claimed' | 'deferred' | 'duplicate'> {
    const dedupe = options.dedupe === 'by-delivery-id';
    const sql = `WITH ${
      dedupe
        ? `delivery AS (
             INSERT INTO webhook_deliveries (provider, environment, delivery_id, payout_id, outcome)
             VALUES ($1::varchar, $2::varchar, $3::varchar, $4::uuid, $5::varchar)
             ON CONFLICT (provider, delivery_id) DO NOTHING RETURNING id
           ),`
        : ''
    } slot AS (
         SELECT id, (webhook_fetch_at IS NULL OR webhook_fetch_at <= now() - $6::int * interval '1 millisecond') AS free
           FROM payouts WHERE id = $4::uuid ${dedupe ? 'AND EXISTS (SELECT 1 FROM delivery)' : ''} FOR UPDATE
       ), taken AS (
         UPDATE payouts p SET
           webhook_fetch_at = CASE WHEN slot.free THEN now() ELSE p.webhook_fetch_at END,
           next_check_at = CASE WHEN slot.free THEN p.next_check_at
             ELSE LEAST(COALESCE(p.next_check_at, 'infinity'::timestamptz), p.webhook_fetch_at + $6::int * interval '1 millisecond') END
          FROM slot WHERE p.id = slot.id
         RETURNING p.id, slot.free
       )${
         dedupe
           ? ''
           : `, delivery AS (
         INSERT INTO webhook_deliveries (provider, environment, delivery_id, payout_id, outcome)
         SELECT $1::varchar, $2::varchar, $3::varchar, id, $5::varchar FROM taken WHERE free
         ON CONFLICT (provider, delivery_id) DO NOTHING
       )`
       }
       SELECT ${dedupe ? 'EXISTS (SELECT 1 FROM delivery)' : 'true'} AS recorded, COALESCE((SELECT free FROM taken), false) AS claimed`;
    const {
      rows: [row],
    } = await runPrepared<{ recorded: boolean; claimed: boolean }>(this.dataSource, sql, [
      delivery.provider,
      delivery.environment,
      delivery.deliveryId,
      delivery.payoutId,
      delivery.outcome,
      options.intervalMs,
    ]);
    return !row.recorded ? 'duplicate' : row.claimed ? 'claimed' : 'deferred';
  }
}
