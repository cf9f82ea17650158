import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { runPrepared } from '../../database/prepared-statements';
import type { Payout, PayoutStatus } from '../../payouts/domain/payout';
import { PayoutsRepository } from '../../payouts/persistence/payouts.repository';
import type { Provider, ProviderEnvironment } from '../../providers/provider.port';

/** The payout a verified notification names, and what may be believed about it. */
export interface NoticeTarget {
  provider: Provider;
  /** The environments whose credential verified the notification: the payout must be in one of them. */
  environments: readonly ProviderEnvironment[];
  /** Our payout id, as the provider echoed it (a UUID: the caller checked), looked up first. */
  payoutId: string | undefined;
  /** The provider's reference, looked up when the id finds nothing. */
  providerReference: string | undefined;
  /** The statuses in which the payout may still change at this provider: in any other, nothing is written. */
  openStatuses: readonly PayoutStatus[];
}

export type NoticeFetch =
  { outcome: 'unknown_payout' } | { outcome: 'final' | 'duplicate' | 'deferred' | 'claimed'; payout: Payout };

/** webhook_deliveries: one row per inbound delivery, unique per provider + delivery id (the dedup record). */
@Injectable()
export class WebhookDeliveriesRepository {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    // The payouts module's own reading of a payout row: noticeFetchStatement reads one with its writes.
    private readonly payouts: PayoutsRepository,
  ) {
    const columns = payouts.selectedPayoutColumns;
    this.statements = {
      withDeliveryId: noticeFetchStatement(columns, { dedupe: true }),
      withoutDeliveryId: noticeFetchStatement(columns, { dedupe: false }),
    };
  }

  private readonly statements: { withDeliveryId: string; withoutDeliveryId: string };

  /**
   * A verified notification's whole bookkeeping in one statement, one round trip: find the payout
   * it names, record the delivery and claim the payout's status-fetch slot
   * (payouts.webhook_fetch_at, which exists for this: at most one fetch per payout per
   * `intervalMs`, on any replica). Nothing is written for a payout we do not know
   * ('unknown_payout') or one that can no longer change ('final').
   * - With `deliveryId` (the provider authenticates one): the record comes first and a delivery
   *   seen before changes nothing ('duplicate'). It is stored as `<environment>:<deliveryId>`.
   * - Without: only a fetch is recorded (the fetch is the delivery worth recording).
   * 'deferred' when a fetch happened within the interval: then a check is scheduled for the end of
   * it instead, unless one is already due within an interval from now (the status fetch after a
   * delivered change schedules one), so a genuine change is never missed and a deferred
   * notification usually writes nothing to the payout.
   * The slot is read FOR UPDATE, so two notifications at once (on any replicas) take turns and
   * exactly one of them gets it.
   */
  async recordAndClaimFetch(
    target: NoticeTarget,
    delivery: { deliveryId: string | undefined; outcome: string },
    options: { intervalMs: number },
  ): Promise<NoticeFetch> {
    const dedupe = delivery.deliveryId !== undefined;
    const sql = dedupe ? this.statements.withDeliveryId : this.statements.withoutDeliveryId;
    const {
      rows: [row],
    } = await runPrepared<
      Record<string, unknown> & { still_open: boolean | null; recorded: boolean; claimed: boolean }
    >(this.dataSource, sql, [
      target.provider,
      target.environments,
      target.payoutId ?? null,
      target.providerReference ?? null,
      target.openStatuses,
      // Without an authenticated delivery id, the fetch's own instant names it.
      delivery.deliveryId ?? String(Date.now()),
      delivery.outcome,
      options.intervalMs,
    ]);
    if (row.still_open === null) return { outcome: 'unknown_payout' };
    const payout = this.payouts.payoutFromSelectedRow(row);
    if (!row.still_open) return { outcome: 'final', payout };
    return { outcome: !row.recorded ? 'duplicate' : row.claimed ? 'claimed' : 'deferred', payout };
  }
}

/**
 * The statement of recordAndClaimFetch over the payout columns `columns`, with or without a
 * delivery id to deduplicate by. Built once per repository: its text (a few kilobytes) is the
 * prepared statement's key, and every notification runs it.
 */
function noticeFetchStatement(columns: string, { dedupe }: { dedupe: boolean }): string {
  // The id first, then the reference; UNION ALL under LIMIT 1 stops at the first row found. The id's
  // provider is compared with IS NOT DISTINCT FROM, which no index serves: with `=` the planner
  // chose (provider, environment, created_at, id) for `provider = $1 AND id = $3` on a young table
  // and read every payout of the provider to find one (51 buffers per notification at 6,000 payouts).
  return `WITH found AS (
         (SELECT ${columns}, p.status = ANY($5::varchar[]) AS still_open FROM payouts p
           WHERE p.id = $3::uuid AND p.provider IS NOT DISTINCT FROM $1::varchar AND p.environment = ANY($2::varchar[]))
         UNION ALL
         (SELECT ${columns}, p.status = ANY($5::varchar[]) AS still_open FROM payouts p
           WHERE p.provider = $1::varchar AND p.provider_reference = $4::varchar AND p.environment = ANY($2::varchar[])
           LIMIT 1)
         LIMIT 1
       ), ${
         dedupe
           ? `delivery AS (
             INSERT INTO webhook_deliveries (provider, environment, delivery_id, payout_id, outcome)
             SELECT $1::varchar, f.environment, left(f.environment || ':' || $6::varchar, 300), f.id, $7::varchar
               FROM found f WHERE f.still_open
             ON CONFLICT (provider, delivery_id) DO NOTHING RETURNING id
           ),`
           : ''
       } slot AS (
         SELECT id, (webhook_fetch_at IS NULL OR webhook_fetch_at <= now() - $8::int * interval '1 millisecond') AS free
           FROM payouts WHERE id = (SELECT f.id FROM found f WHERE f.still_open)
           ${dedupe ? 'AND EXISTS (SELECT 1 FROM delivery)' : ''} FOR UPDATE
       ), taken AS (
         UPDATE payouts p SET
           webhook_fetch_at = CASE WHEN slot.free THEN now() ELSE p.webhook_fetch_at END,
           next_check_at = CASE WHEN slot.free THEN p.next_check_at
             ELSE LEAST(COALESCE(p.next_check_at, 'infinity'::timestamptz), p.webhook_fetch_at + $8::int * interval '1 millisecond') END
          FROM slot WHERE p.id = slot.id
           -- Deferred with a check already due within the interval: that check comes after this
           -- notification, so nothing is written (each write of a payout row re-indexes it).
           AND (slot.free OR p.next_check_at IS NULL OR p.next_check_at > now() + $8::int * interval '1 millisecond')
         RETURNING p.id, slot.free
       )${
         dedupe
           ? ''
           : `, delivery AS (
         INSERT INTO webhook_deliveries (provider, environment, delivery_id, payout_id, outcome)
         SELECT $1::varchar, f.environment, left(f.environment || ':fetch:' || f.id || ':' || $6::varchar, 300), f.id, $7::varchar
           FROM taken JOIN found f ON f.id = taken.id WHERE taken.free
         ON CONFLICT (provider, delivery_id) DO NOTHING
       )`
       }
       SELECT found.*, ${dedupe ? 'EXISTS (SELECT 1 FROM delivery)' : 'true'} AS recorded,
              COALESCE((SELECT free FROM taken), false) AS claimed
         FROM (SELECT 1) AS one LEFT JOIN found ON true`;
}
